#include "fault_injector.h"

#include <algorithm>
#include <vector>

namespace dougong::lincheck {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> UpMembers(const ServerSet& servers) {
  std::vector<int> up;
  for (int i = 0; i < servers.size(); ++i) {
    if (servers.IsUp(i)) up.push_back(i);
  }
  return up;
}

int PickOne(const std::vector<int>& from, std::mt19937_64& rng) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

// Which member a fault harms.
enum class Target { kAny, kLeader, kFollower };

// Picks a member, harms it, and heals every member it harmed. One member at
// a time: Break() refuses while an earlier harm is not healed, so a cluster
// keeps its majority.
class MemberFault : public FaultInjector {
 public:
  MemberFault(Target target, const FaultLimits& limits) : target_(target), limits_(limits) {}

  Result<FaultEvent> Break(ServerSet& servers, std::mt19937_64& rng) override {
    if (!harmed_.empty()) return FailedPrecondition("a fault is still in place");
    const std::vector<int> up = UpMembers(servers);
    if (up.empty()) return FailedPrecondition("no member is up");
    int member = PickOne(up, rng);
    std::string role;
    int leader = servers.size() > 1 ? servers.Leader() : -1;
    if (leader < 0 && target_ != Target::kAny && servers.size() > 1) {
      auto l = servers.WaitForNewLeader(-1, limits_.election_wait);  // an election may be under way
      if (l.ok()) leader = *l;
    }
    if (target_ == Target::kLeader) {
      if (leader < 0) return FailedPrecondition("no leader to harm");
      member = leader;
    } else if (target_ == Target::kFollower) {
      std::vector<int> followers;
      for (int m : up) {
        if (m != leader) followers.push_back(m);
      }
      if (followers.empty()) return FailedPrecondition("no follower to harm");
      member = PickOne(followers, rng);
    }
    if (servers.size() > 1) role = member == leader ? " (leader)" : " (follower)";
    if (Status s = Harm(servers, member); !s.ok()) return s;
    const auto t0 = Clock::now();  // the fault is complete (a partition takes several iptables runs)
    harmed_.push_back(member);
    FaultEvent ev{name() + " member " + std::to_string(member) + role, -1};
    if (member == leader) {
      auto next = servers.WaitForNewLeader(member, limits_.election_wait);
      if (!next.ok()) return next.status();
      ev.election_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      ev.what += "; member " + std::to_string(*next) + " leads after " + std::to_string(int(ev.election_ms)) + " ms";
    }
    return ev;
  }
  Status Heal(ServerSet& servers) override {
    Status first = Status::Ok();
    note_.clear();
    for (int member : harmed_) {
      Status s = Undo(servers, member);
      if (s.ok() && restarts()) {
        auto caught_up = servers.WaitCaughtUp(member, limits_.catch_up_wait);
        if (caught_up.ok()) note_ += *caught_up;
        s = caught_up.status();
      }
      if (!s.ok() && first.ok()) first = s;
    }
    harmed_.clear();
    return first;
  }
  std::string heal_note() const override { return note_; }

 protected:
  virtual Status Harm(ServerSet& servers, int member) = 0;
  virtual Status Undo(ServerSet& servers, int member) = 0;
  virtual bool restarts() const { return false; }  // Undo() starts a new process

 private:
  Target target_;
  FaultLimits limits_;
  std::vector<int> harmed_;
  std::string note_;
};

class KillFault : public MemberFault {
 public:
  using MemberFault::MemberFault;
  std::string name() const override { return "kill -9"; }

 protected:
  Status Harm(ServerSet& servers, int member) override { return servers.Kill(member); }
  Status Undo(ServerSet& servers, int member) override { return servers.Restart(member); }
  bool restarts() const override { return true; }
};

// kill -9, then the data dir is deleted before the restart. A single keeper
// forgets acknowledged writes (--expect-violation); a cluster member must
// come back from the others.
class KillWipeFault : public KillFault {
 public:
  using KillFault::KillFault;
  std::string name() const override { return "kill -9 and wipe the data of"; }

 protected:
  Status Harm(ServerSet& servers, int member) override {
    if (Status s = servers.Kill(member); !s.ok()) return s;
    return servers.WipeData(member);
  }
};

class PauseFault : public MemberFault {
 public:
  using MemberFault::MemberFault;
  std::string name() const override { return "pause (SIGSTOP)"; }

 protected:
  Status Harm(ServerSet& servers, int member) override { return servers.Pause(member); }
  Status Undo(ServerSet& servers, int member) override { return servers.Resume(member); }
};

class PartitionFault : public MemberFault {
 public:
  PartitionFault(bool one_way, const FaultLimits& limits) : MemberFault(Target::kLeader, limits), one_way_(one_way) {}
  std::string name() const override {
    return one_way_ ? "drop the packets to the others of" : "partition from the others";
  }

 protected:
  Status Harm(ServerSet& servers, int member) override { return servers.Partition({member}, one_way_); }
  Status Undo(ServerSet& servers, int) override { return servers.HealPartition(); }

 private:
  bool one_way_;
};

// One of several faults each time.
class MixedFault : public FaultInjector {
 public:
  explicit MixedFault(std::vector<std::unique_ptr<FaultInjector>> faults) : faults_(std::move(faults)) {}
  std::string name() const override {
    std::string s = "mixed (";
    for (size_t i = 0; i < faults_.size(); ++i) s += (i ? ", " : "") + names_[i];
    return s + ")";
  }
  void set_names(std::vector<std::string> names) { names_ = std::move(names); }
  // Every fault once in a random order, then again in another: a short run
  // still sees each kind.
  Result<FaultEvent> Break(ServerSet& servers, std::mt19937_64& rng) override {
    if (next_ == order_.size()) {
      order_.resize(faults_.size());
      for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
      std::shuffle(order_.begin(), order_.end(), rng);
      next_ = 0;
    }
    current_ = order_[next_++];
    return faults_[current_]->Break(servers, rng);
  }
  Status Heal(ServerSet& servers) override { return faults_[current_]->Heal(servers); }
  std::string heal_note() const override { return faults_[current_]->heal_note(); }

 private:
  std::vector<std::unique_ptr<FaultInjector>> faults_;
  std::vector<std::string> names_;
  std::vector<size_t> order_;
  size_t next_ = 0, current_ = 0;
};

class NoFault : public FaultInjector {
 public:
  std::string name() const override { return "none"; }
  Result<FaultEvent> Break(ServerSet&, std::mt19937_64&) override { return FaultEvent{"nothing", -1}; }
  Status Heal(ServerSet&) override { return Status::Ok(); }
};

}  // namespace

Result<std::unique_ptr<FaultInjector>> MakeFaultInjector(const std::string& name, const FaultLimits& wait) {
  using P = std::unique_ptr<FaultInjector>;
  if (name == "kill") return P(new KillFault(Target::kAny, wait));
  if (name == "pause") return P(new PauseFault(Target::kAny, wait));
  if (name == "kill-wipe") return P(new KillWipeFault(Target::kAny, wait));
  if (name == "none") return P(new NoFault());
  if (name == "kill-leader") return P(new KillFault(Target::kLeader, wait));
  if (name == "kill-follower") return P(new KillFault(Target::kFollower, wait));
  if (name == "pause-leader") return P(new PauseFault(Target::kLeader, wait));
  if (name == "wipe-leader") return P(new KillWipeFault(Target::kLeader, wait));
  if (name == "wipe-follower") return P(new KillWipeFault(Target::kFollower, wait));
  if (name == "partition-leader") return P(new PartitionFault(false, wait));
  if (name == "partition-leader-oneway") return P(new PartitionFault(true, wait));
  if (name == "cluster" || name == "cluster-partition" || name.find(',') != std::string::npos) {
    // "a,b,c": a random one of the named faults each time.
    std::vector<std::string> names;
    if (name == "cluster" || name == "cluster-partition") {
      names = {"kill-leader", "kill-follower", "pause-leader", "kill-wipe"};
      if (name == "cluster-partition") names.push_back("partition-leader");
    } else {
      for (size_t pos = 0; pos <= name.size();) {
        size_t comma = name.find(',', pos);
        if (comma == std::string::npos) comma = name.size();
        names.push_back(name.substr(pos, comma - pos));
        pos = comma + 1;
      }
    }
    std::vector<P> faults;
    for (const std::string& n : names) {
      auto f = MakeFaultInjector(n, wait);
      if (!f.ok()) return f.status();
      faults.push_back(std::move(*f));
    }
    auto mixed = std::make_unique<MixedFault>(std::move(faults));
    mixed->set_names(names);
    return P(std::move(mixed));
  }
  return InvalidArgument("unknown fault '" + name +
                         "' (known: kill, pause, none, kill-wipe, kill-leader, kill-follower, pause-leader, "
                         "wipe-leader, wipe-follower, partition-leader, partition-leader-oneway, cluster, cluster-partition, "
                         "or a comma-separated list)");
}

}  // namespace dougong::lincheck
