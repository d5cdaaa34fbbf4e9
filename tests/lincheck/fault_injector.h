// Faults for the linearizability workload, Jepsen's "nemesis": Break() does
// harm to a ServerSet, Heal() undoes all of it. The schedule (when to
// break, how long to stay broken) belongs to the workload (zk_workload.h).
// New faults (network partitions between members once keeper is
// replicated, clock jumps, disk stalls) are new FaultInjectors.
#pragma once

#include <memory>
#include <random>
#include <string>

#include "dougong/base/result.h"
#include "server_set.h"

namespace dougong::lincheck {

class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  virtual std::string name() const = 0;
  // Breaks something; returns what (one line for the report).
  virtual Result<std::string> Break(ServerSet& servers, std::mt19937_64& rng) = 0;
  // Undoes every fault still in place; waits until the members serve again.
  virtual Status Heal(ServerSet& servers) = 0;
};

// "kill": kill -9 of one running member; healing restarts it on its data dir.
// "pause": SIGSTOP of one member; healing sends SIGCONT.
// "none": nothing.
// "kill-wipe": kill -9, delete the member's data, restart: loses acknowledged
// writes on purpose, to show that the checks catch it.
Result<std::unique_ptr<FaultInjector>> MakeFaultInjector(const std::string& name);

}  // namespace dougong::lincheck
