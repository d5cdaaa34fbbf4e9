// "leastactive": Dubbo's LeastActiveLoadBalance. Picks the provider with the
// fewest calls in flight (ProviderStats::active), ties by weighted random. A
// slow or overloaded provider accumulates active calls and so gets fewer new
// ones; idle providers are always preferred.
#pragma once

#include "cluster/balancer_util.h"

namespace dougong::cluster {

class LeastActiveBalancer final : public RandomizedBalancer {
 public:
  using RandomizedBalancer::RandomizedBalancer;
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "leastactive"; }
};

}  // namespace dougong::cluster
