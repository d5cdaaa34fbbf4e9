#include "server_set.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "netns.h"

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

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A TCP connection to host:port within `timeout` (-1 on failure).
int ConnectWithin(const std::string& host, int port, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    ::close(fd);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (errno != EINPROGRESS || ::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

bool Accepts(const std::string& host, int port) {
  const int fd = ConnectWithin(host, port, milliseconds(500));
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

// Sends a four-letter word and reads the answer until the server closes,
// all within `timeout` ("" otherwise: a paused server accepts, never answers).
std::string AskFourLetterWord(const std::string& host, int port, const std::string& word, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  const int fd = ConnectWithin(host, port, timeout);
  if (fd < 0) return "";
  std::string answer;
  bool complete = ::send(fd, word.data(), word.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(word.size());
  while (complete) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) {
      complete = false;
      break;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      complete = false;
      break;
    }
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return complete ? answer : "";
}

// The value of "key<TAB>value" (mntr) or "key: value" (srvr) lines.
std::string FieldOf(const std::string& text, const std::string& key) {
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.compare(0, key.size(), key) != 0 || line.size() == key.size()) continue;
    size_t v = key.size();
    if (line[v] != '\t' && line[v] != ':' && line[v] != ' ') continue;
    while (v < line.size() && (line[v] == '\t' || line[v] == ':' || line[v] == ' ')) ++v;
    size_t e = line.size();
    while (e > v && (line[e - 1] == '\r' || line[e - 1] == ' ')) --e;
    return line.substr(v, e - v);
  }
  return "";
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
  if (options_.members != 1 && options_.members < 3) {
    return InvalidArgument("KeeperProcessSet: 1 member, or a cluster of 3 or more");
  }
  if (options_.netns && options_.netns->hosts() < options_.members) {
    return InvalidArgument("KeeperProcessSet: the network lab has fewer hosts than members");
  }
  ::mkdir(options_.work_dir.c_str(), 0755);
  members_.resize(options_.members);
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    // In namespaces every member has its own address, so ports can be fixed.
    m.host = options_.netns ? options_.netns->Address(static_cast<int>(i)) : "127.0.0.1";
    m.port = options_.netns ? 2181 : FreeLoopbackPort();
    m.peer_port = !cluster() ? 0 : options_.netns ? 2888 : FreeLoopbackPort();
    m.data_dir = options_.work_dir + "/member-" + std::to_string(i);
    m.log_path = m.data_dir + ".log";
    m.config_path = m.data_dir + ".yaml";
    ::unlink(m.log_path.c_str());
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (cluster()) {
      if (Status s = WriteConfig(static_cast<int>(i)); !s.ok()) return s;
    }
    if (Status s = Launch(members_[i]); !s.ok()) return s;
  }
  for (Member& m : members_) {
    if (Status s = WaitServing(m); !s.ok()) return s;
  }
  if (!cluster()) return Status::Ok();
  auto leader = WaitForNewLeader(-1, options_.start_timeout);
  return leader.ok() ? Status::Ok() : leader.status();
}

Status KeeperProcessSet::WriteConfig(int index) {
  const Member& me = members_[index];
  std::string y = "host: " + me.host + "\nport: " + std::to_string(me.port) + "\nadmin_port: 0\ndata_dir: " +
                  me.data_dir + "\n";
  if (options_.snap_count > 0) y += "snap_count: " + std::to_string(options_.snap_count) + "\n";
  y += options_.extra_yaml;
  y += "cluster:\n  id: " + std::to_string(index + 1) + "\n  members:\n";
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_[i];
    y += "    - {id: " + std::to_string(i + 1) + ", peer: \"" + m.host + ":" + std::to_string(m.peer_port) +
         "\", client: \"" + m.host + ":" + std::to_string(m.port) + "\"}\n";
  }
  y += "  tick_ms: " + std::to_string(options_.tick_ms) + "\n  election_ticks: " +
       std::to_string(options_.election_ticks) + "\n  heartbeat_ticks: " + std::to_string(options_.heartbeat_ticks) +
       "\n";
  std::ofstream out(me.config_path, std::ios::trunc);
  out << y;
  out.close();
  return out ? Status::Ok() : Internal("cannot write " + me.config_path);
}

Status KeeperProcessSet::Launch(Member& m) {
  std::vector<std::string> args = {options_.dougong_bin, "keeper"};
  if (cluster()) {
    args.insert(args.end(), {"--config", m.config_path});
  } else {
    args.insert(args.end(), {"--host", m.host, "--port", std::to_string(m.port), "--data-dir", m.data_dir,
                             "--admin-port", "0"});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  const int index = static_cast<int>(&m - members_.data());
  const std::string netns_path = options_.netns ? options_.netns->NamespacePath(index) : "";
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the workload
    if (!netns_path.empty() && !testsupport::EnterNamespace(netns_path.c_str())) ::_exit(126);
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
      return Internal("keeper at " + m.host + ":" + std::to_string(m.port) + " exited at start; its log:\n" +
                      Tail(m.log_path));
    }
    if (Accepts(m.host, m.port)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return DeadlineExceeded("keeper at " + m.host + ":" + std::to_string(m.port) + " not serving; its log:\n" +
                          Tail(m.log_path));
}

std::string KeeperProcessSet::ClientAddress(int member) const {
  return members_[member].host + ":" + std::to_string(members_[member].port);
}

std::string KeeperProcessSet::ConnectString() const { return ClientConnectString(0); }

std::string KeeperProcessSet::ClientConnectString(int client) const {
  std::string s;
  const int n = size();
  for (int i = 0; i < n; ++i) s += (s.empty() ? "" : ",") + ClientAddress((client + i) % n);
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
  if (!cluster()) return "1 keeper process at " + ConnectString();
  return std::to_string(members_.size()) + "-member keeper cluster" +
         (options_.netns ? " in network namespaces" : " on loopback") + " at " + ConnectString() +
         " (election timeout " + std::to_string(ElectionTimeout().count()) + " ms)";
}

std::string KeeperProcessSet::FourLetterWord(int member, const std::string& word, milliseconds timeout) const {
  const Member& m = members_[member];
  if (m.pid <= 0 || m.paused) return "";
  return AskFourLetterWord(m.host, m.port, word, timeout);
}

KeeperProcessSet::MemberState KeeperProcessSet::State(int member) const {
  const std::string mntr = FourLetterWord(member, "mntr");
  MemberState st;
  st.state = FieldOf(mntr, "zk_server_state");
  auto number = [&](const char* key) {
    const std::string v = FieldOf(mntr, key);
    return v.empty() ? int64_t{-1} : int64_t{std::strtoll(v.c_str(), nullptr, 10)};
  };
  st.term = number("zk_raft_term");
  st.commit = number("zk_raft_commit_index");
  st.applied = number("zk_raft_applied_index");
  st.snapshot = number("zk_raft_snapshot_index");
  return st;
}

Result<std::string> KeeperProcessSet::WaitCaughtUp(int member, milliseconds timeout) {
  if (!cluster()) return std::string();
  const auto start = Clock::now();
  auto leader = WaitForNewLeader(member, timeout);
  if (!leader.ok()) return leader.status();
  const int64_t target = State(*leader).commit;
  while (true) {
    const MemberState st = State(member);
    if (st.applied >= target && target >= 0) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      return "member " + std::to_string(member) + " applied the leader's index " + std::to_string(target) + " " +
             std::to_string(static_cast<int64_t>(ms)) + " ms after it accepted connections (its snapshot index " +
             std::to_string(st.snapshot) + ")";
    }
    if (Clock::now() - start > timeout) {
      return DeadlineExceeded("member " + std::to_string(member) + " has not applied index " + std::to_string(target) +
                              " " + std::to_string(timeout.count()) + " ms after it accepted connections (applied " +
                              std::to_string(st.applied) + ")");
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

int KeeperProcessSet::Leader() const {
  if (!cluster()) return IsUp(0) ? 0 : -1;
  int leader = -1;
  int64_t best = -2;
  for (int i = 0; i < size(); ++i) {
    const MemberState st = State(i);
    if (st.state == "leader" && st.term > best) {
      leader = i;
      best = st.term;
    }
  }
  return leader;
}

Result<int> KeeperProcessSet::WaitForNewLeader(int old, milliseconds timeout) {
  if (!cluster()) return Unimplemented("a single keeper has no elections");
  const auto until = Clock::now() + timeout;
  while (true) {
    // Of the members other than `old`, one that says it leads: in a
    // partition `old` may still say so, with an older term.
    int leader = -1;
    int64_t best = -2;
    for (int i = 0; i < size(); ++i) {
      if (i == old) continue;
      const MemberState st = State(i);
      if (st.state == "leader" && st.term > best) {
        leader = i;
        best = st.term;
      }
    }
    if (leader >= 0) return leader;
    if (Clock::now() > until) {
      return DeadlineExceeded("no member other than " + std::to_string(old) + " leads after " +
                              std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

milliseconds KeeperProcessSet::ElectionTimeout() const {
  return cluster() ? milliseconds(int64_t{options_.tick_ms} * options_.election_ticks) : milliseconds(0);
}

Status KeeperProcessSet::Partition(const std::vector<int>& side, bool one_way) {
  if (!options_.netns) return ServerSet::Partition(side, one_way);
  std::vector<int> rest;
  for (int b = 0; b < size(); ++b) {
    if (std::find(side.begin(), side.end(), b) == side.end()) rest.push_back(b);
  }
  std::string error;
  return options_.netns->Cut(side, rest, !one_way, &error) ? Status::Ok() : Internal(error);
}

Status KeeperProcessSet::HealPartition() {
  if (!options_.netns) return Status::Ok();
  std::string error;
  return options_.netns->HealAll(&error) ? Status::Ok() : Internal(error);
}

}  // namespace dougong::lincheck
