// "random": weighted random, as Dubbo's default RandomLoadBalance. Provider i
// is picked with probability w_i / sum(w) (w: warm-up weight); uniform when
// all weights are 0. Stateless apart from the random generator, so it is the
// cheapest balancer and spreads load well once there are many callers.
#pragma once

#include "cluster/balancer_util.h"

namespace dougong::cluster {

class RandomBalancer final : public RandomizedBalancer {
 public:
  using RandomizedBalancer::RandomizedBalancer;
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "random"; }
};

}  // namespace dougong::cluster
