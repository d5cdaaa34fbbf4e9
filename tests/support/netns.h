// Network namespaces for tests (needs root, iproute2 and, for Cut(),
// iptables). Standard library only.
//
// RunShell: a command's exit status and output.
// NetnsLab: a small virtual LAN the test creates and always deletes: a
// "switch" namespace holding a bridge, one namespace per host with a veth
// to the bridge and the address 10.213.S.(i+1)/24, and a veth from the
// caller's namespace (10.213.S.254) so that the test process reaches every
// host. S is picked per process from the subnets not in use here. Cut()
// drops packets between hosts with iptables inside their namespaces.
//
//   NetnsLab lab("lin", 3);
//   std::string err;
//   if (!lab.Create(&err)) FAIL() << err;   // no silent skip: we run as root
//   // fork; child: EnterNamespace(lab.NamespacePath(i)); exec the server on lab.Address(i)
//   lab.Cut({0}, {1, 2}, /*both_ways=*/true, &err);
#pragma once

#include <string>
#include <vector>

namespace dougong::testsupport {

// Runs `command` with /bin/sh; returns its exit status (128 + signal when
// killed), with stdout and stderr in *output.
int RunShell(const std::string& command, std::string* output);

// Moves the calling thread into the network namespace at `path`
// (/run/netns/NAME). For a forked child before exec: only open and setns.
bool EnterNamespace(const char* path);

class NetnsLab {
 public:
  // `tag`: a few letters naming the test in the namespace names
  // ("dg-TAG-PID-h0"); names stay within Linux's 15-character link names.
  NetnsLab(std::string tag, int hosts);
  ~NetnsLab();  // Destroy()
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  // Creates the namespaces, links and addresses; on failure deletes what it
  // made and says which command failed.
  bool Create(std::string* error);
  // Deletes every namespace and link it created (idempotent). Returns false
  // with the failed commands in *error if something could not be deleted.
  bool Destroy(std::string* error = nullptr);

  int hosts() const { return hosts_; }
  const std::string& Namespace(int host) const { return names_[host]; }
  std::string NamespacePath(int host) const { return "/run/netns/" + names_[host]; }
  std::string Address(int host) const;  // 10.213.S.(host+1)
  std::string CallerAddress() const;    // 10.213.S.254, in the caller's namespace
  std::string Exec(int host) const { return "ip netns exec " + names_[host] + " "; }

  // Drops the packets from every host of `from` to every host of `to`, and
  // back if both_ways: iptables DROP rules in the receivers' namespaces, one
  // shell run for all. The caller's link is never cut.
  bool Cut(const std::vector<int>& from, const std::vector<int>& to, bool both_ways, std::string* error);
  // Removes every Cut().
  bool HealAll(std::string* error);

 private:
  bool Run(const std::string& command, std::string* error);

  std::string tag_;
  int hosts_;
  int subnet_ = 0;
  std::string switch_ns_, caller_link_;
  std::vector<std::string> names_;
  bool created_ = false;
};

}  // namespace dougong::testsupport
