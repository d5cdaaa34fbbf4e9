// The registry behind zk:// tests, of either kind: keeper in the test
// process, or Apache ZooKeeper 3.8 (Debian's package) as a child process
// started with scripts/zookeeper-standalone.sh. Value-parameterized suites
// run their zk:// cases against both:
//
//   INSTANTIATE_TEST_SUITE_P(Registries, MySuite, ::testing::ValuesIn(kRegistryKinds),
//                            RegistryParamName);
//
// Both get the same settings: loopback, a free port, a fresh data dir, tick
// 200 ms (session timeouts from 400 ms to 4 s). ZooKeeper is waited on by
// polling its `srvr` four-letter word (not by sleeping), stopped by SIGKILL
// to its PID (the script execs java), and dies with the test process
// (PR_SET_PDEATHSIG) if the test itself dies.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dougong/keeper/server.h"

namespace dougong::cluster::testing {

enum class RegistryKind { kKeeper, kZooKeeper };
inline constexpr RegistryKind kRegistryKinds[] = {RegistryKind::kKeeper, RegistryKind::kZooKeeper};

inline const char* RegistryKindName(RegistryKind kind) {
  return kind == RegistryKind::kKeeper ? "keeper" : "zookeeper";
}
inline std::string RegistryParamName(const ::testing::TestParamInfo<RegistryKind>& info) {
  return RegistryKindName(info.param);
}
// For gtest's messages and ctest's test names ("GetParam() = zookeeper").
inline void PrintTo(RegistryKind kind, std::ostream* os) { *os << RegistryKindName(kind); }

// A port nobody listens on right now (closed again before it is used).
inline int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

// Sends a four-letter word to 127.0.0.1:port; the answer, or "" if none.
inline std::string FourLetterWord(int port, const char* word) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::write(fd, word, 4) == 4) {
    char buf[1024];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class RegistryServer {
 public:
  // `base`: a fresh directory of the test; data dirs are made below it.
  static std::unique_ptr<RegistryServer> Create(RegistryKind kind, std::filesystem::path base);
  virtual ~RegistryServer() = default;

  // Starts serving the data dir base/`data` on `port` (0: a free one).
  // Failures are reported with ADD_FAILURE; check running() after.
  virtual void Start(const std::string& data, int port) = 0;
  // Gone at once, as in a crash: no goodbye to the clients.
  virtual void Stop() = 0;
  virtual bool running() const = 0;

  // The same data dir and port again, as after a crash.
  void Restart() {
    Stop();
    Start(data_, port_);
  }
  // A new, empty data dir on the same port (0 at first: a free one), as a
  // registry that lost its data.
  void StartFresh() {
    Stop();
    Start("data" + std::to_string(++fresh_), port_);
  }
  int port() const { return port_; }
  std::string hosts() const { return "127.0.0.1:" + std::to_string(port_); }

 protected:
  explicit RegistryServer(std::filesystem::path base) : base_(std::move(base)) {}
  std::filesystem::path base_;
  std::string data_;
  int port_ = 0;
  int fresh_ = 0;
};

class KeeperRegistry final : public RegistryServer {
 public:
  explicit KeeperRegistry(std::filesystem::path base) : RegistryServer(std::move(base)) {}
  void Start(const std::string& data, int port) override {
    keeper::KeeperOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.admin_port = 0;
    o.data_dir = (base_ / data).string();
    o.tick_ms = 200;
    o.io_threads = 1;
    auto server = keeper::KeeperServer::Start(o);
    if (!server.ok()) {
      ADD_FAILURE() << "keeper: " << server.status().ToString();
      return;
    }
    keeper_ = std::move(*server);
    data_ = data;
    port_ = keeper_->port();
  }
  void Stop() override { keeper_.reset(); }
  bool running() const override { return keeper_ != nullptr; }

 private:
  std::unique_ptr<keeper::KeeperServer> keeper_;
};

class ZooKeeperProcess final : public RegistryServer {
 public:
  explicit ZooKeeperProcess(std::filesystem::path base) : RegistryServer(std::move(base)) {}
  ~ZooKeeperProcess() override { Stop(); }

  void Start(const std::string& data, int port) override {
    data_ = data;
    port_ = port != 0 ? port : FreeLoopbackPort();
    std::string log = (base_ / ("zookeeper-" + std::to_string(++starts_) + ".log")).string();
    // tickTime as keeper's tick_ms above; containers checked every second.
    std::vector<std::string> args = {"/bin/bash", std::string(DOUGONG_SOURCE_DIR) + "/scripts/zookeeper-standalone.sh",
                                     (base_ / data).string(), std::to_string(port_), "tickTime=200"};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    if (std::getenv("ZK_JVM_OPTS") == nullptr) {
      // The JVM shares two cores with everything else: start lean.
      env.emplace_back("ZK_JVM_OPTS=-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
                       "-Xshare:auto -Dznode.container.checkIntervalMs=1000");
    }
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    auto started = std::chrono::steady_clock::now();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      // Nothing else of the test goes along: the in-process keeper's
      // listening socket (not close-on-exec) would keep its port bound in
      // the JVM after the keeper stopped.
      if (::close_range(3, ~0U, 0) != 0) {
        for (int other = 3; other < 4096; ++other) ::close(other);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      return;
    }
    // Ready when it answers `srvr` as a serving server; a process that
    // exits first fails at once, with its log.
    auto delay = std::chrono::milliseconds(20);
    while (true) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "ZooKeeper exited (status " << status << ") before serving:\n" << Tail(log);
        return;
      }
      std::string srvr = FourLetterWord(port_, "srvr");
      if (srvr.find("Mode: standalone") != std::string::npos) break;
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(60)) {
        ADD_FAILURE() << "ZooKeeper not serving on " << port_ << " after 60 s:\n" << Tail(log);
        Stop();
        return;
      }
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 3 / 2, std::chrono::milliseconds(250));
    }
    last_start_ = std::chrono::steady_clock::now() - started;
  }

  void Stop() override {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const override { return pid_ > 0; }
  std::chrono::steady_clock::duration last_start() const { return last_start_; }

 private:
  static std::string Tail(const std::string& path) {
    std::ifstream in(path);
    std::stringstream all;
    all << in.rdbuf();
    std::string text = all.str();
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  pid_t pid_ = -1;
  int starts_ = 0;
  std::chrono::steady_clock::duration last_start_{};
};

inline std::unique_ptr<RegistryServer> RegistryServer::Create(RegistryKind kind, std::filesystem::path base) {
  if (kind == RegistryKind::kKeeper) return std::make_unique<KeeperRegistry>(std::move(base));
  return std::make_unique<ZooKeeperProcess>(std::move(base));
}

// One server of each kind for all the cases of a suite in this process
// (starting a JVM costs seconds). Cases take it in SetUp, each under its own
// root path (RootForThisTest()); one that stopped it (an outage) leaves it
// restarted. The suite's TearDownTestSuite calls StopAll(). Under ctest every
// case is a process of its own, and so gets its own server.
class SharedRegistryServers {
 public:
  static RegistryServer* Get(RegistryKind kind) {
    Slot& slot = Slots()[kind == RegistryKind::kKeeper ? 0 : 1];
    if (slot.server == nullptr) {
      slot.dir = std::filesystem::temp_directory_path() /
                 ("dougong_registry_" + std::string(RegistryKindName(kind)) + "_" + std::to_string(::getpid()));
      std::filesystem::remove_all(slot.dir);
      std::filesystem::create_directories(slot.dir);
      slot.server = RegistryServer::Create(kind, slot.dir);
    }
    if (!slot.server->running()) slot.server->StartFresh();
    return slot.server->running() ? slot.server.get() : nullptr;
  }
  static void StopAll() {
    for (auto& slot : Slots()) {
      slot.server.reset();
      if (!slot.dir.empty()) std::filesystem::remove_all(slot.dir);
    }
  }

 private:
  struct Slot {
    std::filesystem::path dir;
    std::unique_ptr<RegistryServer> server;
  };
  static std::array<Slot, 2>& Slots() {
    static std::array<Slot, 2> slots;
    return slots;
  }
};

// "/dougong-test-<case>-<param>", a ZooKeeper path of its own for the running case.
inline std::string RootForThisTest() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) {
    if (c == '/') c = '-';
  }
  return "/dougong-test-" + name;
}

}  // namespace dougong::cluster::testing
