// CircuitBreaker: stops calling a dependency that keeps failing, then probes
// it, in Hystrix's model and with Hystrix's defaults (the Hystrix property is
// named next to each option).
//
//   closed ──(window has >= request_volume_threshold requests and
//             error% >= error_threshold_percent)──> open
//   open ──(sleep_window elapsed, next Allow())──> half-open: up to
//             half_open_trials calls are let through
//   half-open ──(half_open_trials successes)──> closed, window cleared
//   half-open ──(any error)──> open again for another sleep_window
//
// Errors are failures, timeouts and rejections (the call was refused by a
// limiter on the way, like Hystrix's thread-pool/semaphore rejections).
// Calls the breaker itself refused ("short-circuited") are not requests: they
// are counted apart and never keep the breaker open.
//
// Usage: if (!breaker.Allow()) fail fast; else make the call and report
// exactly one of OnSuccess/OnFailure/OnTimeout/OnRejected. Results reported
// while half-open are taken as the trial's, even from a call that started
// before the breaker opened (as in Hystrix); results while open only count in
// the window. A trial that never reports does not wedge the breaker: after
// another sleep_window in half-open, new trials are let through.
//
// Thread-safe. Allow() on a closed breaker, the hot path, is one atomic load.
// Reporting takes a short mutex: it must roll the window, count and test the
// thresholds as one step, and the bucket roll-over is exactly where
// lock-free rolling counters lose or misplace counts. The critical section
// is O(1) (running totals; a roll clears at most N buckets).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "dougong/base/status.h"
#include "dougong/cluster/clock.h"
#include "dougong/cluster/rolling_counts.h"

namespace dougong::cluster {

struct CircuitBreakerOptions {
  // metrics.rollingStats.timeInMilliseconds / numBuckets: 10 s in 10 buckets.
  std::chrono::nanoseconds window = std::chrono::seconds(10);
  int buckets = 10;
  // circuitBreaker.requestVolumeThreshold: fewer requests in the window never trip.
  uint64_t request_volume_threshold = 20;
  // circuitBreaker.errorThresholdPercentage: trips at errors*100 >= this*requests.
  int error_threshold_percent = 50;
  // circuitBreaker.sleepWindowInMilliseconds: how long it stays open.
  std::chrono::nanoseconds sleep_window = std::chrono::seconds(5);
  // Calls let through in half-open (Hystrix: 1); all must succeed to close.
  int half_open_trials = 1;

  // INVALID_ARGUMENT naming the first bad field. The breaker replaces bad
  // fields with the defaults; live rules should check first.
  Status Validate() const;
};

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen };
// circuitBreaker.forceOpen / forceClosed. They only decide Allow(); the state
// machine keeps running underneath, so clearing an override resumes the real
// state.
enum class BreakerOverride : uint8_t { kNone, kForceOpen, kForceClosed };

std::string_view BreakerStateName(BreakerState state);        // "CLOSED", "OPEN", "HALF_OPEN"
std::string_view BreakerOverrideName(BreakerOverride mode);   // "NONE", "FORCE_OPEN", "FORCE_CLOSED"

// For /status pages: the window's counts and the lifetime counters.
struct CircuitBreakerSnapshot {
  BreakerState state = BreakerState::kClosed;
  BreakerOverride override_mode = BreakerOverride::kNone;
  uint64_t successes = 0;  // in the window
  uint64_t failures = 0;
  uint64_t timeouts = 0;
  uint64_t rejections = 0;
  uint64_t requests = 0;       // the four above
  int error_percent = 0;       // floor(100 * errors / requests), 0 without requests
  uint64_t short_circuited = 0;  // since creation: Allow() returned false
  uint64_t times_opened = 0;     // since creation: closed/half-open -> open
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const CircuitBreakerOptions& options = {},
                          const Clock& clock = SteadyClock::Instance());
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // May the call go ahead? false: fail fast (counted as short-circuited).
  bool Allow();

  void OnSuccess() { Record(kSuccess); }
  void OnFailure() { Record(kFailure); }
  void OnTimeout() { Record(kTimeout); }
  void OnRejected() { Record(kRejected); }

  // The state as of the last transition: an open breaker whose sleep window
  // has passed reports kOpen until an Allow() turns it half-open.
  BreakerState state() const { return state_.load(std::memory_order_acquire); }

  void SetOverride(BreakerOverride mode) { override_.store(mode, std::memory_order_release); }
  BreakerOverride override_mode() const { return override_.load(std::memory_order_acquire); }

  CircuitBreakerSnapshot Snapshot() const;
  const CircuitBreakerOptions& options() const { return options_; }

 private:
  enum Kind : size_t { kSuccess, kFailure, kTimeout, kRejected, kKinds };

  void Record(Kind kind);
  bool ShouldTrip(const RollingCounts<kKinds>::Counts& sums) const;
  void OpenLocked(int64_t now);
  void Reject() { short_circuited_.fetch_add(1, std::memory_order_relaxed); }

  const CircuitBreakerOptions options_;
  const Clock& clock_;
  std::atomic<BreakerState> state_{BreakerState::kClosed};
  std::atomic<BreakerOverride> override_{BreakerOverride::kNone};
  std::atomic<uint64_t> short_circuited_{0};

  mutable std::mutex mu_;
  mutable RollingCounts<kKinds> window_;  // rolling is a mutation even for readers
  int64_t open_until_ = 0;       // open: when half-open may start
  int64_t trials_until_ = 0;     // half-open: when unreported trials are given up
  int trials_left_ = 0;          // half-open: trials not yet let through
  int trial_successes_ = 0;      // half-open
  uint64_t times_opened_ = 0;
};

}  // namespace dougong::cluster
