// "consistenthash": the same SelectContext::hash_key always reaches the same
// provider while the membership is unchanged (cache affinity, per-user
// ordering), and membership changes move as few keys as possible (see
// hash_ring.h). Weights and warm-up are ignored, as in Dubbo: a weighted ring
// would move keys whenever a weight ramps. An empty key picks a random point,
// so keyless calls spread instead of piling onto one provider.
//
// The ring is built on the first Select of a new membership and shared by
// all threads through an atomic shared_ptr: no mutex, and no Select waits
// for a rebuild by another thread (libstdc++ guards the pointer swap itself
// with a spin on one bit, held for a few instructions).
#pragma once

#include <atomic>
#include <memory>

#include "cluster/hash_ring.h"
#include "cluster/random.h"
#include "dougong/cluster/load_balancer.h"

namespace dougong::cluster {

class ConsistentHashBalancer final : public LoadBalancer {
 public:
  explicit ConsistentHashBalancer(const LoadBalancerOptions& options);
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "consistenthash"; }

  // The ring for `providers`, built if the cached one is for another
  // membership. Public for tests and diagnostics.
  std::shared_ptr<const HashRing> RingFor(const ProviderSet& providers);

 private:
  const int virtual_nodes_;
  AtomicRandom rng_;
  std::atomic<std::shared_ptr<const HashRing>> ring_;
};

}  // namespace dougong::cluster
