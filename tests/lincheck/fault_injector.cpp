#include "fault_injector.h"

#include <vector>

namespace dougong::lincheck {
namespace {

std::vector<int> UpMembers(const ServerSet& servers) {
  std::vector<int> up;
  for (int i = 0; i < servers.size(); ++i) {
    if (servers.IsUp(i)) up.push_back(i);
  }
  return up;
}

// Picks a running member, harms it, and heals every member it harmed.
class MemberFault : public FaultInjector {
 public:
  Result<std::string> Break(ServerSet& servers, std::mt19937_64& rng) override {
    const std::vector<int> up = UpMembers(servers);
    if (up.empty()) return FailedPrecondition("no member is up");
    const int member = up[std::uniform_int_distribution<size_t>(0, up.size() - 1)(rng)];
    if (Status s = Harm(servers, member); !s.ok()) return s;
    harmed_.push_back(member);
    return name() + " member " + std::to_string(member);
  }
  Status Heal(ServerSet& servers) override {
    Status first = Status::Ok();
    for (int member : harmed_) {
      Status s = Undo(servers, member);
      if (!s.ok() && first.ok()) first = s;
    }
    harmed_.clear();
    return first;
  }

 protected:
  virtual Status Harm(ServerSet& servers, int member) = 0;
  virtual Status Undo(ServerSet& servers, int member) = 0;

 private:
  std::vector<int> harmed_;
};

class KillFault : public MemberFault {
 public:
  std::string name() const override { return "kill -9"; }

 protected:
  Status Harm(ServerSet& servers, int member) override { return servers.Kill(member); }
  Status Undo(ServerSet& servers, int member) override { return servers.Restart(member); }
};

// kill -9, then the data dir is deleted before the restart: acknowledged
// writes are gone. Only for showing that the checks notice (--expect-violation).
class KillWipeFault : public KillFault {
 public:
  std::string name() const override { return "kill -9 and wipe the data"; }

 protected:
  Status Harm(ServerSet& servers, int member) override {
    if (Status s = servers.Kill(member); !s.ok()) return s;
    return servers.WipeData(member);
  }
};

class PauseFault : public MemberFault {
 public:
  std::string name() const override { return "pause (SIGSTOP)"; }

 protected:
  Status Harm(ServerSet& servers, int member) override { return servers.Pause(member); }
  Status Undo(ServerSet& servers, int member) override { return servers.Resume(member); }
};

class NoFault : public FaultInjector {
 public:
  std::string name() const override { return "none"; }
  Result<std::string> Break(ServerSet&, std::mt19937_64&) override { return std::string("nothing"); }
  Status Heal(ServerSet&) override { return Status::Ok(); }
};

}  // namespace

Result<std::unique_ptr<FaultInjector>> MakeFaultInjector(const std::string& name) {
  if (name == "kill") return std::unique_ptr<FaultInjector>(new KillFault());
  if (name == "pause") return std::unique_ptr<FaultInjector>(new PauseFault());
  if (name == "kill-wipe") return std::unique_ptr<FaultInjector>(new KillWipeFault());
  if (name == "none") return std::unique_ptr<FaultInjector>(new NoFault());
  return InvalidArgument("unknown fault '" + name + "' (known: kill, pause, none, kill-wipe)");
}

}  // namespace dougong::lincheck
