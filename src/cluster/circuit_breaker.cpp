#include "dougong/cluster/circuit_breaker.h"

#include "cluster/option_check.h"

namespace dougong::cluster {
namespace {

Status Check(CircuitBreakerOptions& o) {
  const CircuitBreakerOptions d;
  OptionCheck c;
  if (c.Bad(ValidWindow(o.window, o.buckets), "circuit breaker: buckets must be >= 1, window >= 1 ns per bucket")) {
    o.window = d.window;
    o.buckets = d.buckets;
  }
  if (c.Bad(o.error_threshold_percent >= 0 && o.error_threshold_percent <= 100,
            "circuit breaker: error_threshold_percent must be in [0, 100]")) {
    o.error_threshold_percent = d.error_threshold_percent;
  }
  if (c.Bad(o.sleep_window.count() >= 0, "circuit breaker: sleep_window must be >= 0")) {
    o.sleep_window = d.sleep_window;
  }
  if (c.Bad(o.half_open_trials >= 1, "circuit breaker: half_open_trials must be >= 1")) {
    o.half_open_trials = d.half_open_trials;
  }
  return c.status();
}

}  // namespace

Status CircuitBreakerOptions::Validate() const {
  CircuitBreakerOptions copy = *this;
  return Check(copy);
}

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "CLOSED";
    case BreakerState::kOpen: return "OPEN";
    case BreakerState::kHalfOpen: return "HALF_OPEN";
  }
  return "UNKNOWN";
}

std::string_view BreakerOverrideName(BreakerOverride mode) {
  switch (mode) {
    case BreakerOverride::kNone: return "NONE";
    case BreakerOverride::kForceOpen: return "FORCE_OPEN";
    case BreakerOverride::kForceClosed: return "FORCE_CLOSED";
  }
  return "UNKNOWN";
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options, const Clock& clock)
    : options_(Repaired(options, &Check)),
      clock_(clock),
      window_(options_.window.count(), options_.buckets) {}

bool CircuitBreaker::Allow() {
  switch (override_.load(std::memory_order_acquire)) {
    case BreakerOverride::kForceClosed:
      return true;
    case BreakerOverride::kForceOpen:
      Reject();
      return false;
    case BreakerOverride::kNone:
      break;
  }
  if (state_.load(std::memory_order_acquire) == BreakerState::kClosed) return true;

  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  BreakerState state = state_.load(std::memory_order_relaxed);
  if (state == BreakerState::kClosed) return true;  // closed while we waited for the lock
  const bool open_expired = state == BreakerState::kOpen && now >= open_until_;
  // Half-open with every trial out and none back for a sleep window: the
  // trials are taken as lost, so the breaker cannot stay half-open forever.
  const bool trials_lost = state == BreakerState::kHalfOpen && trials_left_ == 0 && now >= trials_until_;
  if (open_expired || trials_lost) {
    state_.store(BreakerState::kHalfOpen, std::memory_order_release);
    trials_left_ = options_.half_open_trials;
    trial_successes_ = 0;
    trials_until_ = now + options_.sleep_window.count();
    state = BreakerState::kHalfOpen;
  }
  if (state == BreakerState::kHalfOpen && trials_left_ > 0) {
    --trials_left_;
    return true;
  }
  Reject();
  return false;
}

void CircuitBreaker::Record(Kind kind) {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  window_.Add(now, kind);
  const bool error = kind != kSuccess;
  switch (state_.load(std::memory_order_relaxed)) {
    case BreakerState::kClosed:
      // A success can complete the volume while the error rate is already
      // over the threshold, so every result is a trip check (O(1)).
      if (ShouldTrip(window_.Sums(now))) OpenLocked(now);
      break;
    case BreakerState::kOpen:
      break;  // a call from before the trip: counted, decides nothing
    case BreakerState::kHalfOpen:
      if (error) {
        OpenLocked(now);
      } else if (++trial_successes_ >= options_.half_open_trials) {
        // Hystrix resets the metrics on closing, so the errors that opened
        // the breaker cannot trip it again at once.
        window_.Reset();
        state_.store(BreakerState::kClosed, std::memory_order_release);
      }
      break;
  }
}

bool CircuitBreaker::ShouldTrip(const RollingCounts<kKinds>::Counts& sums) const {
  const uint64_t requests = sums[kSuccess] + sums[kFailure] + sums[kTimeout] + sums[kRejected];
  const uint64_t errors = requests - sums[kSuccess];
  return requests >= options_.request_volume_threshold && requests > 0 &&
         errors * 100 >= static_cast<uint64_t>(options_.error_threshold_percent) * requests;
}

void CircuitBreaker::OpenLocked(int64_t now) {
  open_until_ = now + options_.sleep_window.count();
  trials_left_ = 0;
  ++times_opened_;
  state_.store(BreakerState::kOpen, std::memory_order_release);
}

CircuitBreakerSnapshot CircuitBreaker::Snapshot() const {
  const int64_t now = clock_.NowNanos();
  CircuitBreakerSnapshot s;
  s.override_mode = override_mode();
  s.short_circuited = short_circuited_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  s.state = state_.load(std::memory_order_relaxed);
  const auto& sums = window_.Sums(now);
  s.successes = sums[kSuccess];
  s.failures = sums[kFailure];
  s.timeouts = sums[kTimeout];
  s.rejections = sums[kRejected];
  s.requests = s.successes + s.failures + s.timeouts + s.rejections;
  s.error_percent = s.requests == 0 ? 0 : static_cast<int>((s.requests - s.successes) * 100 / s.requests);
  s.times_opened = times_opened_;
  return s;
}

}  // namespace dougong::cluster
