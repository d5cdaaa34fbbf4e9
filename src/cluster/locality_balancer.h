// "localfirst": prefers providers on the caller's own host, then in its own
// zone, then any, and lets the inner balancer choose within the first tier
// that has a usable provider (not excluded, weight > 0). Saves the network
// hop or the cross-zone latency and traffic cost; when a tier runs out
// (failures exclude its members, or it is drained) calls spill over to the
// next one. An empty SelectContext::host or zone skips that tier.
#pragma once

#include <memory>

#include "dougong/cluster/load_balancer.h"

namespace dougong::cluster {

class LocalityBalancer final : public LoadBalancer {
 public:
  explicit LocalityBalancer(std::unique_ptr<LoadBalancer> inner) : inner_(std::move(inner)) {}
  Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) override;
  std::string_view name() const override { return "localfirst"; }

 private:
  std::unique_ptr<LoadBalancer> inner_;
};

}  // namespace dougong::cluster
