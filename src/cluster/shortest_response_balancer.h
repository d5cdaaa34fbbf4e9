// "shortestresponse": Dubbo's ShortestResponseLoadBalance with an EWMA
// instead of a sliding-window average. Estimated wait = EWMA of successful
// latencies x (active + 1): the time the calls already queued there plus
// this one would take. Picks the smallest estimate, ties by weighted random.
// A provider without a successful call yet estimates 0, so new providers are
// tried first and get a latency figure quickly.
#pragma once

#include "cluster/balancer_util.h"

namespace dougong::cluster {

class ShortestResponseBalancer final : public RandomizedBalancer {
 public:
  using RandomizedBalancer::RandomizedBalancer;
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "shortestresponse"; }
};

}  // namespace dougong::cluster
