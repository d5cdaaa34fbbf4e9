// The servers a linearizability workload runs against, as separate
// processes it can kill, pause and restart. The workload and the fault
// injectors only see ServerSet; KeeperProcessSet starts `dougong keeper`
// processes: one member as before, or a replicated cluster of 3 or 5 (each
// member's YAML written by Start(), docs/linearizability.md "Cluster"), on
// loopback or each member in a network namespace of a NetnsLab so that the
// network between members can be cut.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::testsupport {
class NetnsLab;
}

namespace dougong::lincheck {

class ServerSet {
 public:
  virtual ~ServerSet() = default;
  // Starts every member and waits until each accepts connections.
  virtual Status Start() = 0;
  // host:port of every member, comma separated (a ZooKeeper connect string).
  virtual std::string ConnectString() const = 0;
  virtual int size() const = 0;
  virtual bool IsUp(int member) const = 0;
  // SIGKILL, reaped: no shutdown path runs, whatever was not fsynced is gone.
  virtual Status Kill(int member) = 0;
  // Starts a killed member again on its data dir and port; waits until it
  // accepts connections.
  virtual Status Restart(int member) = 0;
  // Deletes a killed member's data dir: a fault no correct system survives
  // (it forgets acknowledged writes), used to show that the tests notice.
  virtual Status WipeData(int member) = 0;
  // SIGSTOP / SIGCONT: the member keeps its sockets but answers nothing.
  virtual Status Pause(int member) = 0;
  virtual Status Resume(int member) = 0;
  // Stops every member (SIGTERM, then SIGKILL).
  virtual void StopAll() = 0;
  virtual std::string Describe() const = 0;

  // ---- replicated sets; the defaults fit a single server ----
  // The connect string of client `client`: every member, starting at a
  // different one per client so that clients spread over the members.
  virtual std::string ClientConnectString(int /*client*/) const { return ConnectString(); }
  // The member that leads now (asked over the client port; of several that
  // say so, the one with the highest term), -1 if none answers as leader.
  virtual int Leader() const { return size() == 1 && IsUp(0) ? 0 : -1; }
  // Waits until a member other than `old` leads and returns it.
  virtual Result<int> WaitForNewLeader(int /*old*/, std::chrono::milliseconds /*timeout*/) {
    return Unimplemented("a single server has no elections");
  }
  // The configured election timeout (0: no elections).
  virtual std::chrono::milliseconds ElectionTimeout() const { return std::chrono::milliseconds(0); }
  // Drops the packets between `side` and the other members (from `side` to
  // the others only if one_way). Clients still reach every member.
  virtual Status Partition(const std::vector<int>& /*side*/, bool /*one_way*/) {
    return Unimplemented("partitions need members in network namespaces (--netns)");
  }
  virtual Status HealPartition() { return Status::Ok(); }
  virtual bool CanPartition() const { return false; }
  // Waits until a restarted member has applied everything the leader had
  // committed when this was called; says how it came back ("" if there is
  // nothing to catch up with).
  virtual Result<std::string> WaitCaughtUp(int /*member*/, std::chrono::milliseconds /*timeout*/) {
    return std::string();
  }
};

struct KeeperProcessOptions {
  std::string dougong_bin;  // the `dougong` binary
  std::string work_dir;     // member i: work_dir/member-i/ (data), member-i.log, member-i.yaml
  int members = 1;          // 1: a single keeper (no cluster: key); 3 or 5: a replicated cluster
  std::vector<std::string> extra_args;  // appended to every member's command line
  std::chrono::milliseconds start_timeout{60'000};
  // Cluster members (docs/replicated_keeper.md): raft tick and election
  // timeout in ticks (randomized up to 2x by keeper).
  int tick_ms = 50;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  int snap_count = 0;            // keeper's snap_count (0: its default); small = snapshots often
  std::string extra_yaml;        // top-level keys appended to every member's YAML
  // Members in network namespaces: member i in lab->Namespace(i) on
  // lab->Address(i) (the lab has at least `members` hosts and outlives this
  // set); null: every member on 127.0.0.1 with free ports.
  testsupport::NetnsLab* netns = nullptr;
};

class KeeperProcessSet : public ServerSet {
 public:
  explicit KeeperProcessSet(KeeperProcessOptions options);
  ~KeeperProcessSet() override;

  Status Start() override;
  std::string ConnectString() const override;
  int size() const override { return static_cast<int>(members_.size()); }
  bool IsUp(int member) const override;
  Status Kill(int member) override;
  Status Restart(int member) override;
  Status WipeData(int member) override;
  Status Pause(int member) override;
  Status Resume(int member) override;
  void StopAll() override;
  std::string Describe() const override;

  std::string ClientConnectString(int client) const override;
  int Leader() const override;
  Result<int> WaitForNewLeader(int old, std::chrono::milliseconds timeout) override;
  std::chrono::milliseconds ElectionTimeout() const override;
  Status Partition(const std::vector<int>& side, bool one_way) override;
  Status HealPartition() override;
  bool CanPartition() const override { return options_.netns != nullptr; }
  Result<std::string> WaitCaughtUp(int member, std::chrono::milliseconds timeout) override;

  // host:port of a member's client port; its pid (-1 when down).
  std::string ClientAddress(int member) const;
  pid_t pid(int member) const { return members_[member].pid; }
  const std::string& log_path(int member) const { return members_[member].log_path; }
  // A four-letter word's answer ("" when the member does not answer within
  // `timeout`: down, paused or cut off).
  std::string FourLetterWord(int member, const std::string& word,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;
  // `mntr`'s zk_server_state ("leader", "follower", "observer", "standalone")
  // and zk_raft_* (-1 if absent); state "" when it does not answer.
  struct MemberState {
    std::string state;
    int64_t term = -1, commit = -1, applied = -1, snapshot = -1;
  };
  MemberState State(int member) const;

 private:
  struct Member {
    std::string host;
    int port = 0, peer_port = 0;
    std::string data_dir, log_path, config_path;
    pid_t pid = -1;
    bool paused = false;
  };
  bool cluster() const { return options_.members > 1; }
  Status WriteConfig(int index);
  Status Launch(Member& m);
  Status WaitServing(Member& m);

  KeeperProcessOptions options_;
  std::vector<Member> members_;
};

}  // namespace dougong::lincheck
