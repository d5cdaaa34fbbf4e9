// Helpers shared by the balancers.
#pragma once

#include <cstdint>
#include <limits>

#include "cluster/random.h"
#include "cluster/weighted_reservoir.h"
#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/cluster/load_balancer.h"
#include "dougong/cluster/provider.h"
#include "dougong/cluster/select_context.h"
#include "dougong/cluster/warmup.h"

namespace dougong::cluster {

// UNAVAILABLE saying whether the set was empty or every provider excluded;
// what every balancer answers when it has no candidate.
Status NoProviderLeft(const ProviderSet& providers, const SelectContext& ctx);

// The options' clock, or the system clock when none was injected.
EpochMsClock ClockOrSystem(const EpochMsClock& clock);

// The state of the balancers that draw random numbers and weigh by warm-up:
// a generator shared by all calling threads and the clock.
// (Public constructor: the subclasses inherit it as theirs.)
class RandomizedBalancer : public LoadBalancer {
 public:
  explicit RandomizedBalancer(const LoadBalancerOptions& options)
      : rng_(options.seed), clock_(ClockOrSystem(options.clock)) {}

 protected:
  AtomicRandom rng_;
  EpochMsClock clock_;
};

// The adaptive balancers' common shape: among the providers not excluded,
// those with the smallest `cost(i)` (an int64_t read from live atomics, each
// read once), and among those one at random by warm-up weight (uniform when
// their weights are all 0).
template <class Cost>
Result<size_t> PickCheapest(const ProviderSet& providers, const SelectContext& ctx,
                            int64_t now_ms, uint64_t seed, Cost cost) {
  WeightedReservoir ties(seed);
  int64_t least = std::numeric_limits<int64_t>::max();
  bool any = false;
  for (size_t i = 0; i < providers.size(); ++i) {
    if (ctx.IsExcluded(i)) continue;
    const int64_t c = cost(i);
    if (!any || c < least) {
      least = c;
      ties.Reset();
      any = true;
    }
    if (c == least) ties.Offer(i, WarmupWeight(providers[i], now_ms));
  }
  if (!any) return NoProviderLeft(providers, ctx);
  return *ties.Pick();
}

}  // namespace dougong::cluster
