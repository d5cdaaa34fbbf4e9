// Faults for the linearizability workload, Jepsen's "nemesis": Break() does
// harm to a ServerSet, Heal() undoes all of it. The schedule (when to
// break, how long to stay broken) belongs to the workload (zk_workload.h).
// A cluster fault harms one member at a time, so a majority always stays
// up; faults that take the leader away also time the election that follows
// (the fault -> a new leader answering `mntr` as leader).
#pragma once

#include <chrono>
#include <memory>
#include <random>
#include <string>

#include "dougong/base/result.h"
#include "server_set.h"

namespace dougong::lincheck {

// What one Break() did.
struct FaultEvent {
  std::string what;          // one line for the report
  double election_ms = -1;   // took the leader away: fault -> new leader seen; -1 otherwise
};

class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  virtual std::string name() const = 0;
  // Breaks something. A fault that takes the leader away returns once
  // another member leads (or fails after FaultLimits::election_wait).
  virtual Result<FaultEvent> Break(ServerSet& servers, std::mt19937_64& rng) = 0;
  // Undoes every fault still in place; waits until the members serve again
  // (a restarted cluster member: until it caught up with the leader).
  virtual Status Heal(ServerSet& servers) = 0;
  // What the last Heal() saw (how a restarted member came back), or "".
  virtual std::string heal_note() const { return ""; }
};

// Single server or cluster:
//   "kill": kill -9 of one running member; healing restarts it on its data dir.
//   "pause": SIGSTOP of one member; healing sends SIGCONT.
//   "none": nothing.
//   "kill-wipe": kill -9, delete the member's data, restart. A single keeper
//     loses acknowledged writes (the checks must notice); a cluster member
//     must come back from the others (log or snapshot) and lose nothing.
// Cluster only:
//   "kill-leader", "kill-follower": kill -9 of the leader / a follower.
//   "wipe-follower": kill -9 of a follower, its data deleted, restarted.
//   "pause-leader": SIGSTOP of the leader; SIGCONT when healed.
//   "wipe-leader": kill -9 of the leader, its data deleted, restarted.
//   "partition-leader": the leader cut from every other member (both ways;
//     needs --netns); "partition-leader-oneway": only its packets dropped.
//   "cluster": kill-leader, kill-follower, pause-leader, kill-wipe;
//   "cluster-partition": the same and partition-leader (needs --netns);
//   "a,b,c": these. Each in a random order, then again in another order.
struct FaultLimits {
  // A fault that takes the leader away fails the run without a new leader
  // within this.
  std::chrono::milliseconds election_wait{30'000};
  // Healing a restart fails the run if the member has not caught up with the
  // leader within this after it accepts connections again.
  std::chrono::milliseconds catch_up_wait{30'000};
};

Result<std::unique_ptr<FaultInjector>> MakeFaultInjector(const std::string& name, const FaultLimits& limits = {});

}  // namespace dougong::lincheck
