// A deterministic simulator for dougong::raft::Core: N nodes, a faulty
// network, crashing storage, clients and membership changes, all driven by
// one seeded PRNG, with safety and liveness checks after every step.
#pragma once

#include <cstdint>
#include <string>

namespace dougong::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  int steps = 5000;
  bool verbose = false;  // trace every event to stderr
};

struct SimStats {
  uint64_t steps = 0;
  uint64_t ticks = 0;
  uint64_t elections = 0;      // distinct (term, leader) pairs
  uint64_t committed = 0;      // highest committed index
  uint64_t writes_acked = 0;
  uint64_t reads_served = 0;
  uint64_t conf_changes = 0;   // committed configuration changes
  uint64_t snapshots_installed = 0;
  uint64_t crashes = 0;
  uint64_t transfers = 0;
  uint64_t heals = 0;          // fault-free periods in which progress resumed
};

struct SimResult {
  bool ok = true;
  std::string failure;  // the violated invariant, with context
  SimStats stats;
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace dougong::raft::sim
