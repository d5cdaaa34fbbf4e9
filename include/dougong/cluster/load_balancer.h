// LoadBalancer: picks one provider of a snapshot for one call. All
// implementations may be called from many threads at once.
//
//   auto lb = cluster::NewLoadBalancer("leastactive");
//   cluster::ExclusionSet tried;
//   cluster::SelectContext ctx;
//   ctx.excluded = &tried;
//   Result<size_t> i = (*lb)->Select(*providers, ctx);
//   if (!i.ok()) return i.status();            // none left
//   providers->stats(*i).OnStart(); ... OnFinish(latency, ok);
//   on failure: tried.Add(*i) and select again from the same snapshot.
//
// Algorithms, formulas and defaults: docs/cluster.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dougong/base/result.h"
#include "dougong/cluster/provider.h"
#include "dougong/cluster/select_context.h"
#include "dougong/cluster/warmup.h"

namespace dougong::cluster {

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;

  // The index of the chosen provider in `providers`. Never an excluded one:
  // UNAVAILABLE when the set is empty or every provider is excluded.
  virtual Result<size_t> Select(const ProviderSet& providers, const SelectContext& ctx) = 0;

  // The factory name ("random", ...).
  virtual std::string_view name() const = 0;
};

struct LoadBalancerOptions {
  // Seed of the balancer's random numbers; 0: a random seed. Tests fix it.
  uint64_t seed = 0;
  // For warm-up weights; empty: SystemClockMs.
  EpochMsClock clock;
  // Consistent hash: points per provider on the ring (ketama's 160).
  int virtual_nodes = 160;
  // "sticky" and "localfirst" wrap another balancer, named here; if that one
  // wraps too ("localfirst" over "sticky"), it wraps "random".
  std::string inner = "random";
};

// "random", "roundrobin", "leastactive", "shortestresponse",
// "consistenthash", "sticky", "localfirst"; INVALID_ARGUMENT otherwise.
Result<std::unique_ptr<LoadBalancer>> NewLoadBalancer(std::string_view name,
                                                      const LoadBalancerOptions& options = {});

}  // namespace dougong::cluster
