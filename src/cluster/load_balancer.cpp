#include "dougong/cluster/load_balancer.h"

#include <string>

#include "cluster/consistent_hash_balancer.h"
#include "cluster/least_active_balancer.h"
#include "cluster/locality_balancer.h"
#include "cluster/random_balancer.h"
#include "cluster/round_robin_balancer.h"
#include "cluster/shortest_response_balancer.h"
#include "cluster/sticky_balancer.h"

namespace dougong::cluster {

Result<std::unique_ptr<LoadBalancer>> NewLoadBalancer(std::string_view name,
                                                      const LoadBalancerOptions& options) {
  std::unique_ptr<LoadBalancer> lb;
  if (name == "random") {
    lb = std::make_unique<RandomBalancer>(options);
  } else if (name == "roundrobin") {
    lb = std::make_unique<RoundRobinBalancer>(options);
  } else if (name == "leastactive") {
    lb = std::make_unique<LeastActiveBalancer>(options);
  } else if (name == "shortestresponse") {
    lb = std::make_unique<ShortestResponseBalancer>(options);
  } else if (name == "consistenthash") {
    lb = std::make_unique<ConsistentHashBalancer>(options);
  } else if (name == "sticky" || name == "localfirst") {
    // The inner balancer's own inner (if it wraps too) is "random", which
    // allows localfirst over sticky and ends the recursion.
    LoadBalancerOptions inner_options = options;
    inner_options.inner = "random";
    Result<std::unique_ptr<LoadBalancer>> inner = NewLoadBalancer(options.inner, inner_options);
    if (!inner.ok()) return inner.status();
    if (name == "sticky") {
      lb = std::make_unique<StickyBalancer>(std::move(inner).value());
    } else {
      lb = std::make_unique<LocalityBalancer>(std::move(inner).value());
    }
  } else {
    return InvalidArgument("unknown load balancer \"" + std::string(name) +
                           "\" (random, roundrobin, leastactive, shortestresponse, "
                           "consistenthash, sticky, localfirst)");
  }
  return lb;
}

}  // namespace dougong::cluster
