// "roundrobin": nginx's smooth weighted round robin. Each pick adds every
// candidate's weight to its `current`, takes the largest current (the first
// on a tie) and subtracts the total weight from it. Over any sum(w) picks
// provider i is chosen exactly w_i times, and the picks are interleaved
// (weights {5,1,1} give a a b a c a a, not a a a a a b c).
//
// Unlike the other balancers it takes a mutex: the exact sequence needs one
// consistent update of all counters per pick, as nginx does under its
// upstream lock. The critical section is one O(n) pass.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "dougong/cluster/load_balancer.h"

namespace dougong::cluster {

class RoundRobinBalancer final : public LoadBalancer {
 public:
  explicit RoundRobinBalancer(const LoadBalancerOptions& options);
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "roundrobin"; }

 private:
  EpochMsClock clock_;
  std::mutex mu_;
  // The counters belong to one membership; a new one starts them from 0.
  uint64_t fingerprint_ = 0;
  std::vector<int64_t> current_;
};

}  // namespace dougong::cluster
