#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace dougong::testsupport {

int RunShell(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = ::popen(("{ " + command + "\n} 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool EnterNamespace(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

NetnsLab::NetnsLab(std::string tag, int hosts) : tag_(std::move(tag)), hosts_(hosts) {
  const std::string base = "dg-" + tag_ + "-" + std::to_string(::getpid());
  switch_ns_ = base + "-sw";
  for (int i = 0; i < hosts_; ++i) names_.push_back(base + "-h" + std::to_string(i));
  // A link name in the caller's namespace: at most 15 characters.
  caller_link_ = ("dg" + tag_.substr(0, 3) + std::to_string(::getpid())).substr(0, 15);
}

NetnsLab::~NetnsLab() { Destroy(); }

std::string NetnsLab::Address(int host) const {
  return "10.213." + std::to_string(subnet_) + "." + std::to_string(host + 1);
}

std::string NetnsLab::CallerAddress() const { return "10.213." + std::to_string(subnet_) + ".254"; }

bool NetnsLab::Run(const std::string& command, std::string* error) {
  std::string out;
  if (RunShell(command, &out) == 0) return true;
  if (error) *error += "`" + command + "` failed: " + out;
  return false;
}

// Deletes the namespaces of labs with this tag whose process is gone (a run
// killed with SIGKILL, e.g. by a test timeout, cannot clean up after itself).
namespace {
void DeleteOrphans(const std::string& tag) {
  std::string list, out;
  if (RunShell("ip netns list", &list) != 0) return;
  const std::string prefix = "dg-" + tag + "-";
  for (size_t pos = 0; pos < list.size();) {
    size_t end = list.find('\n', pos);
    if (end == std::string::npos) end = list.size();
    const std::string line = list.substr(pos, end - pos);
    pos = end + 1;
    const std::string name = line.substr(0, line.find(' '));
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) RunShell("ip netns del " + name, &out);
  }
}
}  // namespace

bool NetnsLab::Create(std::string* error) {
  if (error) error->clear();
  DeleteOrphans(tag_);
  // A /24 of 10.213.0.0/16 that no address or route here uses yet.
  std::string in_use;
  RunShell("ip -4 -o addr show; ip -4 route show table all", &in_use);
  for (int i = 0; i < 200 && subnet_ == 0; ++i) {
    const int s = 10 + (::getpid() + i) % 240;
    if (in_use.find("10.213." + std::to_string(s) + ".") == std::string::npos) subnet_ = s;
  }
  if (subnet_ == 0) {
    if (error) *error = "no free subnet in 10.213.0.0/16";
    return false;
  }
  created_ = true;  // from here on Destroy() has something to do
  const std::string sw = "ip -n " + switch_ns_ + " ";
  bool ok = Run("ip netns add " + switch_ns_, error) && Run(sw + "link set lo up", error) &&
            Run(sw + "link add br0 type bridge", error) && Run(sw + "link set br0 up", error);
  for (int i = 0; ok && i < hosts_; ++i) {
    const std::string h = "ip -n " + names_[i] + " ";
    const std::string port = "h" + std::to_string(i);
    ok = Run("ip netns add " + names_[i], error) && Run(h + "link set lo up", error) &&
         Run("ip link add eth0 netns " + names_[i] + " type veth peer name " + port + " netns " + switch_ns_, error) &&
         Run(sw + "link set " + port + " master br0 up", error) &&
         Run(h + "addr add " + Address(i) + "/24 dev eth0", error) && Run(h + "link set eth0 up", error);
  }
  ok = ok && Run("ip link add " + caller_link_ + " type veth peer name uplink netns " + switch_ns_, error) &&
       Run(sw + "link set dev uplink master br0 up", error) &&
       Run("ip addr add " + CallerAddress() + "/24 dev " + caller_link_, error) &&
       Run("ip link set " + caller_link_ + " up", error);
  if (!ok) Destroy();
  return ok;
}

bool NetnsLab::Destroy(std::string* error) {
  if (!created_) return true;
  created_ = false;
  std::string out, failed;
  // Deleting a namespace deletes its links, and with them their veth peers
  // (the caller's link included).
  std::vector<std::string> all = names_;
  all.push_back(switch_ns_);
  for (const std::string& ns : all) {
    if (::access(("/run/netns/" + ns).c_str(), F_OK) != 0) continue;
    if (RunShell("ip netns del " + ns, &out) != 0) failed += "ip netns del " + ns + ": " + out;
  }
  RunShell("ip link show " + caller_link_ + " >/dev/null 2>&1 && ip link del " + caller_link_ + "; exit 0", &out);
  if (error) *error = failed;
  return failed.empty();
}

bool NetnsLab::Cut(const std::vector<int>& from, const std::vector<int>& to, bool both_ways, std::string* error) {
  // DROP on the receiver's INPUT: the sender sees nothing (a DROP on its
  // OUTPUT would fail its sends at once with EPERM).
  auto drop_in = [&](int receiver, const std::vector<int>& senders) {
    std::string sources;
    for (int s : senders) sources += (sources.empty() ? "" : ",") + Address(s);
    return "nsenter --net=" + NamespacePath(receiver) + " iptables -w -A INPUT -j DROP -s " + sources;
  };
  std::string script;
  for (int b : to) script += (script.empty() ? "" : " && ") + drop_in(b, from);
  if (both_ways) {
    for (int a : from) script += " && " + drop_in(a, to);
  }
  return script.empty() || Run(script, error);
}

bool NetnsLab::HealAll(std::string* error) {
  std::string script;
  for (int i = 0; i < hosts_; ++i) {
    script += (script.empty() ? "" : " && ") + ("nsenter --net=" + NamespacePath(i) + " iptables -w -F INPUT");
  }
  return Run(script, error);
}

}  // namespace dougong::testsupport
