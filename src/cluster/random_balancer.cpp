#include "cluster/random_balancer.h"

namespace dougong::cluster {

Result<size_t> RandomBalancer::Select(const ProviderSet& providers, const SelectContext& ctx) {
  // Two passes over the snapshot (total, then the walk to a random offset)
  // instead of a scratch array of weights: weights are cheap to recompute
  // and the snapshot cannot change in between.
  const int64_t now = clock_();
  int64_t total = 0;
  uint64_t candidates = 0;
  for (size_t i = 0; i < providers.size(); ++i) {
    if (ctx.IsExcluded(i)) continue;
    ++candidates;
    total += WarmupWeight(providers[i], now);
  }
  if (candidates == 0) return NoProviderLeft(providers, ctx);

  const bool uniform = total == 0;
  uint64_t offset = UniformBelow(rng_.Next(), uniform ? candidates : static_cast<uint64_t>(total));
  for (size_t i = 0; i < providers.size(); ++i) {
    if (ctx.IsExcluded(i)) continue;
    const uint64_t w = uniform ? 1 : static_cast<uint64_t>(WarmupWeight(providers[i], now));
    if (offset < w) return i;
    offset -= w;
  }
  return Internal("weighted random walked past the total weight");  // unreachable
}

}  // namespace dougong::cluster
