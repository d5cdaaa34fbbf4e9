#include "cluster/least_active_balancer.h"

namespace dougong::cluster {

Result<size_t> LeastActiveBalancer::Select(const ProviderSet& providers,
                                           const SelectContext& ctx) {
  return PickCheapest(providers, ctx, clock_(), rng_.Next(),
                      [&](size_t i) { return providers.stats(i).active(); });
}

}  // namespace dougong::cluster
