#include "cluster/channel/method_state.h"

namespace dougong::cluster {
namespace {

const CallPolicy& PolicyOf(const std::string& name, const ClusterChannelOptions& options) {
  auto it = options.method_policies.find(name);
  return it == options.method_policies.end() ? options.policy : it->second;
}

}  // namespace

MethodState::MethodState(std::string method, const ClusterChannelOptions& options, const Clock& clock)
    : name(std::move(method)),
      policy(PolicyOf(name, options)),
      listed_idempotent(options.idempotent_methods.contains(name)),
      concurrency(policy.max_concurrency) {
  if (policy.rate_limit_qps > 0) {
    RateLimiterOptions r;
    r.permits_per_second = policy.rate_limit_qps;
    r.burst = policy.rate_limit_burst;
    rate = std::make_unique<RateLimiter>(r, clock);
  }
  if (options.method_breaker) breaker = std::make_unique<CircuitBreaker>(*options.method_breaker, clock);
}

ClusterMethodStatus MethodState::Snapshot() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  ClusterMethodStatus s;
  s.method = name;
  s.mode = policy.mode;
  s.calls = get(counters.calls);
  s.succeeded = get(counters.succeeded);
  s.failed = get(counters.failed);
  s.retries = get(counters.retries);
  s.hedges = get(counters.hedges);
  s.rejected = get(counters.rejected);
  s.short_circuited = get(counters.short_circuited);
  s.fallbacks = get(counters.fallbacks);
  s.failsafe_swallowed = get(counters.failsafe_swallowed);
  s.failback_queued = get(counters.failback_queued);
  s.in_process = get(counters.in_process);
  s.in_flight = concurrency.in_flight();
  if (breaker) s.breaker = breaker->Snapshot();
  return s;
}

}  // namespace dougong::cluster
