// MethodState: the governance state of one method of a cluster channel: its
// resolved policy, limiters, breaker and counters. Made at the method's first
// call and kept for the channel's life (methods are few and fixed). The
// guards (rate limiter, concurrency limit, breaker) follow the service rules:
// ApplyRules swaps them when the rules change; a call keeps the limiter and
// breaker it started with.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dougong/cluster/circuit_breaker.h"
#include "dougong/cluster/cluster_channel.h"
#include "dougong/cluster/concurrency_limiter.h"
#include "dougong/cluster/rate_limiter.h"
#include "dougong/cluster/rules.h"

namespace dougong::cluster {

struct MethodCounters {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> succeeded{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> hedges{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> short_circuited{0};
  std::atomic<uint64_t> fallbacks{0};
  std::atomic<uint64_t> failsafe_swallowed{0};
  std::atomic<uint64_t> failback_queued{0};
  std::atomic<uint64_t> in_process{0};

  static void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

struct MethodState {
  MethodState(std::string name, const ClusterChannelOptions& options, const Clock& clock,
              const ServiceRules* rules);

  // The consumer-side rules naming this method replace the configured
  // limits and breaker; without such rules (null: no rules at all) the
  // configured ones apply again. Unchanged settings keep their state.
  void ApplyRules(const ServiceRules* rules);

  std::shared_ptr<RateLimiter> rate() const { return rate_.load(std::memory_order_acquire); }  // null: none
  std::shared_ptr<CircuitBreaker> breaker() const { return breaker_.load(std::memory_order_acquire); }
  ClusterMethodStatus Snapshot() const;

  const std::string name;
  const CallPolicy policy;
  const bool listed_idempotent;  // in ClusterChannelOptions::idempotent_methods
  ConcurrencyLimiter concurrency;
  MethodCounters counters;

 private:
  const Clock& clock_;
  const std::optional<CircuitBreakerOptions> configured_breaker_;
  std::mutex rules_mu_;  // ApplyRules
  std::optional<RateLimiterOptions> rate_options_;
  std::optional<CircuitBreakerOptions> breaker_options_;
  std::atomic<std::shared_ptr<RateLimiter>> rate_;
  std::atomic<std::shared_ptr<CircuitBreaker>> breaker_;
};

}  // namespace dougong::cluster
