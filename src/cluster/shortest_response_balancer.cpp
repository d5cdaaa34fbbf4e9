#include "cluster/shortest_response_balancer.h"

#include <limits>

#include "cluster/balancer_util.h"

namespace dougong::cluster {

Result<size_t> ShortestResponseBalancer::Select(const ProviderSet& providers,
                                                const SelectContext& ctx) {
  return PickCheapest(providers, ctx, clock_(), rng_.Next(), [&](size_t i) {
    const ProviderStats& s = providers.stats(i);
    int64_t estimate;
    // Saturate rather than wrap: a huge estimate must still compare as huge.
    if (__builtin_mul_overflow(s.ewma_latency().count(), s.active() + 1, &estimate)) {
      estimate = std::numeric_limits<int64_t>::max();
    }
    return estimate;
  });
}

}  // namespace dougong::cluster
