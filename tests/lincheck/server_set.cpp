#include "server_set.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace dougong::lincheck {
namespace {

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string Tail(const std::string& path, size_t max_bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

}  // namespace

KeeperProcessSet::KeeperProcessSet(KeeperProcessOptions options) : options_(std::move(options)) {}

KeeperProcessSet::~KeeperProcessSet() { StopAll(); }

Status KeeperProcessSet::Start() {
  if (options_.members != 1) {
    // The replicated keeper is not built yet; its members will need a peer
    // list here (docs/linearizability.md, "Extension points").
    return Unimplemented("KeeperProcessSet: only 1 member until keeper replicates through Raft");
  }
  ::mkdir(options_.work_dir.c_str(), 0755);
  members_.resize(options_.members);
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    m.port = FreeLoopbackPort();
    m.data_dir = options_.work_dir + "/member-" + std::to_string(i);
    m.log_path = m.data_dir + ".log";
    ::unlink(m.log_path.c_str());
    if (Status s = Launch(m); !s.ok()) return s;
  }
  for (Member& m : members_) {
    if (Status s = WaitServing(m); !s.ok()) return s;
  }
  return Status::Ok();
}

Status KeeperProcessSet::Launch(Member& m) {
  std::vector<std::string> args = {options_.dougong_bin, "keeper", "--host", "127.0.0.1", "--port",
                                   std::to_string(m.port), "--data-dir", m.data_dir, "--admin-port", "0"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the workload
    const int fd = ::open(m.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  m.pid = pid;
  m.paused = false;
  return Status::Ok();
}

Status KeeperProcessSet::WaitServing(Member& m) {
  const auto until = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < until) {
    int wstatus = 0;
    if (::waitpid(m.pid, &wstatus, WNOHANG) == m.pid) {
      m.pid = -1;
      return Internal("keeper on port " + std::to_string(m.port) + " exited at start; its log:\n" +
                      Tail(m.log_path));
    }
    if (Accepts(m.port)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return DeadlineExceeded("keeper on port " + std::to_string(m.port) + " not serving; its log:\n" +
                          Tail(m.log_path));
}

std::string KeeperProcessSet::ConnectString() const {
  std::string s;
  for (const Member& m : members_) s += (s.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(m.port);
  return s;
}

bool KeeperProcessSet::IsUp(int member) const { return members_[member].pid > 0 && !members_[member].paused; }

Status KeeperProcessSet::Kill(int member) {
  Member& m = members_[member];
  if (m.pid <= 0) return FailedPrecondition("member " + std::to_string(member) + " is not running");
  ::kill(m.pid, SIGKILL);
  ::waitpid(m.pid, nullptr, 0);
  m.pid = -1;
  m.paused = false;
  return Status::Ok();
}

Status KeeperProcessSet::Restart(int member) {
  Member& m = members_[member];
  if (m.pid > 0) return FailedPrecondition("member " + std::to_string(member) + " is running");
  if (Status s = Launch(m); !s.ok()) return s;
  return WaitServing(m);
}

Status KeeperProcessSet::WipeData(int member) {
  Member& m = members_[member];
  if (m.pid > 0) return FailedPrecondition("member " + std::to_string(member) + " is running");
  std::error_code ec;
  std::filesystem::remove_all(m.data_dir, ec);
  return ec ? Internal("wiping " + m.data_dir + ": " + ec.message()) : Status::Ok();
}

Status KeeperProcessSet::Pause(int member) {
  Member& m = members_[member];
  if (m.pid <= 0 || m.paused) return FailedPrecondition("member " + std::to_string(member) + " is not running");
  ::kill(m.pid, SIGSTOP);
  m.paused = true;
  return Status::Ok();
}

Status KeeperProcessSet::Resume(int member) {
  Member& m = members_[member];
  if (m.pid <= 0 || !m.paused) return FailedPrecondition("member " + std::to_string(member) + " is not paused");
  ::kill(m.pid, SIGCONT);
  m.paused = false;
  return Status::Ok();
}

void KeeperProcessSet::StopAll() {
  for (Member& m : members_) {
    if (m.pid <= 0) continue;
    if (m.paused) ::kill(m.pid, SIGCONT);
    ::kill(m.pid, SIGTERM);
    bool exited = false;
    for (int i = 0; i < 500 && !exited; ++i) {  // up to 10 s for a clean stop
      exited = ::waitpid(m.pid, nullptr, WNOHANG) == m.pid;
      if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) {
      ::kill(m.pid, SIGKILL);
      ::waitpid(m.pid, nullptr, 0);
    }
    m.pid = -1;
  }
}

std::string KeeperProcessSet::Describe() const {
  return std::to_string(members_.size()) + " keeper process(es) at " + ConnectString();
}

}  // namespace dougong::lincheck
