// MethodState: the governance state of one method of a cluster channel: its
// resolved policy, limiters, breaker and counters. Made at the method's first
// call and kept for the channel's life (methods are few and fixed).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dougong/cluster/circuit_breaker.h"
#include "dougong/cluster/cluster_channel.h"
#include "dougong/cluster/concurrency_limiter.h"
#include "dougong/cluster/rate_limiter.h"

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
  MethodState(std::string name, const ClusterChannelOptions& options, const Clock& clock);

  ClusterMethodStatus Snapshot() const;

  const std::string name;
  const CallPolicy policy;
  const bool listed_idempotent;  // in ClusterChannelOptions::idempotent_methods
  ConcurrencyLimiter concurrency;
  std::unique_ptr<RateLimiter> rate;        // null: no rate limit
  std::unique_ptr<CircuitBreaker> breaker;  // null: no method breaker
  MethodCounters counters;
};

}  // namespace dougong::cluster
