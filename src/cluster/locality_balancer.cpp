#include "cluster/locality_balancer.h"

namespace dougong::cluster {
namespace {

// The providers outside the tier `in_tier`, plus those already excluded; or
// nullopt when the tier has no usable provider.
template <class InTier>
std::optional<ExclusionSet> OutsideTier(const ProviderSet& providers, const SelectContext& ctx,
                                        InTier in_tier) {
  ExclusionSet outside;
  bool usable = false;
  for (size_t i = 0; i < providers.size(); ++i) {
    if (ctx.IsExcluded(i) || !in_tier(providers[i])) {
      outside.Add(i);
    } else if (providers[i].weight > 0) {
      usable = true;
    }
  }
  if (!usable) return std::nullopt;
  return outside;
}

}  // namespace

Result<size_t> LocalityBalancer::Select(const ProviderSet& providers, const SelectContext& ctx) {
  std::optional<ExclusionSet> outside;
  if (!ctx.host.empty()) {
    outside = OutsideTier(providers, ctx, [&](const Provider& p) { return p.host == ctx.host; });
  }
  if (!outside && !ctx.zone.empty()) {
    outside = OutsideTier(providers, ctx, [&](const Provider& p) { return p.zone == ctx.zone; });
  }
  if (!outside) return inner_->Select(providers, ctx);
  SelectContext narrowed = ctx;
  narrowed.excluded = &*outside;
  return inner_->Select(providers, narrowed);
}

}  // namespace dougong::cluster
