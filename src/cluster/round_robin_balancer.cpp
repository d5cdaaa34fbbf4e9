#include "cluster/round_robin_balancer.h"

#include "cluster/balancer_util.h"

namespace dougong::cluster {

RoundRobinBalancer::RoundRobinBalancer(const LoadBalancerOptions& options)
    : clock_(ClockOrSystem(options.clock)) {}

Result<size_t> RoundRobinBalancer::Select(const ProviderSet& providers,
                                          const SelectContext& ctx) {
  const int64_t now = clock_();
  // All candidates at weight 0 (drained, say): plain round robin among them
  // rather than always the first.
  bool all_zero = true;
  for (size_t i = 0; i < providers.size() && all_zero; ++i) {
    if (!ctx.IsExcluded(i) && WarmupWeight(providers[i], now) > 0) all_zero = false;
  }

  std::lock_guard lock(mu_);
  if (fingerprint_ != providers.fingerprint() || current_.size() != providers.size()) {
    fingerprint_ = providers.fingerprint();
    current_.assign(providers.size(), 0);
  }
  int64_t total = 0;
  size_t best = providers.size();
  for (size_t i = 0; i < providers.size(); ++i) {
    if (ctx.IsExcluded(i)) continue;
    const int64_t w = all_zero ? 1 : WarmupWeight(providers[i], now);
    current_[i] += w;
    total += w;
    if (best == providers.size() || current_[i] > current_[best]) best = i;
  }
  if (best == providers.size()) return NoProviderLeft(providers, ctx);
  current_[best] -= total;
  return best;
}

}  // namespace dougong::cluster
