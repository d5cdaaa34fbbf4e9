// RateLimiter: a non-blocking token bucket with a burst capacity and an
// optional warm-up, for QPS limits per method or per caller.
//
// The bucket is kept as a "theoretical arrival time" (GCRA): `next_free` is
// when the bucket would be full again. A request for n permits costs n
// permit-intervals of time; it is granted if, after paying, next_free is no
// more than `burst` intervals ahead of now. That is exactly a bucket of
// `burst` tokens refilled at `permits_per_second`, started full, with O(1)
// state and no refill timer. Over a time T the limiter admits at most
// rate * T + burst permits, and (under constant demand) at least rate * T.
//
// Warm-up (Guava's SmoothWarmingUp, also Sentinel's warm-up controller): a
// limiter that was idle should not pass the full rate at once to a cold
// cache or a fresh JIT. Idle time banks "stored permits" (up to max_stored,
// filling in `warmup`); stored permits above a threshold are expensive:
//   stable = 1 / rate,  cold = stable * cold_factor
//   threshold  = 0.5 * warmup / stable
//   max_stored = threshold + 2 * warmup / (stable + cold)
//   cost of the stored permit at level p = stable + (p - threshold) * slope,
//     slope = (cold - stable) / (max_stored - threshold)   (p > threshold)
// so a cold limiter (it starts cold) passes rate / cold_factor, rising
// linearly in cost to the full rate as the stored permits are used; draining
// from max_stored to threshold takes `warmup` under full demand. The bucket
// still holds burst * stable of time, so a cold limiter's burst is about
// burst / cold_factor permits (but always at least one).
//
// Thread-safe: a short mutex (the state is two doubles and the decision needs
// both, so one compare-and-swap cannot cover it).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "dougong/base/status.h"
#include "dougong/cluster/clock.h"

namespace dougong::cluster {

struct RateLimiterOptions {
  double permits_per_second = 100;
  // Permits that may pass back to back once the bucket has filled; 0: one
  // second's worth (at least 1). A request for more than this never passes.
  double burst = 0;
  // 0: no warm-up, the limiter starts with a full bucket at the full rate.
  std::chrono::nanoseconds warmup{0};
  double cold_factor = 3;  // Guava's and Sentinel's coldFactor

  // INVALID_ARGUMENT naming the first bad field; the limiter replaces bad
  // fields with the defaults.
  Status Validate() const;
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimiterOptions& options = {}, const Clock& clock = SteadyClock::Instance());
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes n permits now if the rate allows, else takes nothing.
  bool TryAcquire(uint32_t n = 1);

  // Permits banked by idleness as of the last TryAcquire (0 without
  // warm-up); for status pages and tests.
  double stored_permits() const;
  uint64_t admitted() const;
  uint64_t rejected() const;
  const RateLimiterOptions& options() const { return options_; }

 private:
  // Time (ns) to take `k` of the `stored_` permits.
  double StoredCost(double k) const;

  const RateLimiterOptions options_;
  const Clock& clock_;
  const int64_t origin_;  // times below are ns since this, as doubles (fractions matter)
  double stable_ns_ = 0;
  double burst_ns_ = 0;
  double threshold_ = 0;
  double max_stored_ = 0;
  double slope_ = 0;         // ns per permit per stored permit above threshold
  double cool_down_ns_ = 0;  // idle ns per stored permit regained

  mutable std::mutex mu_;
  double next_free_ = 0;
  double stored_ = 0;
  uint64_t admitted_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace dougong::cluster
