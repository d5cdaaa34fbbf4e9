// "sticky": keeps returning the provider chosen last (by address, so it
// survives registry updates) while it is still in the set, not excluded and
// not drained (weight 0); otherwise asks the inner balancer and sticks to its
// answer. Dubbo's "sticky" reference option: connection reuse and warm
// server-side caches for one client, with failover when the provider goes.
// One stickiness per balancer; a caller wanting it per session keeps a
// balancer per session, or uses "consistenthash" with the session as key.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "dougong/cluster/load_balancer.h"

namespace dougong::cluster {

class StickyBalancer final : public LoadBalancer {
 public:
  explicit StickyBalancer(std::unique_ptr<LoadBalancer> inner) : inner_(std::move(inner)) {}
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "sticky"; }

 private:
  std::unique_ptr<LoadBalancer> inner_;
  // Replaced only when the choice changes, so the hot path is one load.
  std::atomic<std::shared_ptr<const std::string>> last_;
};

}  // namespace dougong::cluster
