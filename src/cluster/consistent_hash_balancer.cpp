#include "cluster/consistent_hash_balancer.h"

#include "cluster/balancer_util.h"

namespace dougong::cluster {

ConsistentHashBalancer::ConsistentHashBalancer(const LoadBalancerOptions& options)
    : virtual_nodes_(options.virtual_nodes), rng_(options.seed) {}

std::shared_ptr<const HashRing> ConsistentHashBalancer::RingFor(const ProviderSet& providers) {
  std::shared_ptr<const HashRing> ring = ring_.load(std::memory_order_acquire);
  if (ring == nullptr || ring->fingerprint() != providers.fingerprint()) {
    // Two threads may both build after a change; the rings are equal, so
    // whichever store lands last is as good as the other.
    ring = std::make_shared<const HashRing>(providers, virtual_nodes_);
    ring_.store(ring, std::memory_order_release);
  }
  return ring;
}

Result<size_t> ConsistentHashBalancer::Select(const ProviderSet& providers,
                                              const SelectContext& ctx) {
  if (providers.empty()) return NoProviderLeft(providers, ctx);
  const uint64_t point = ctx.hash_key.empty() ? rng_.Next() : HashRing::KeyPoint(ctx.hash_key);
  std::optional<size_t> chosen = RingFor(providers)->Lookup(point, ctx);
  if (!chosen) return NoProviderLeft(providers, ctx);
  return *chosen;
}

}  // namespace dougong::cluster
