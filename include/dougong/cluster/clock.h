// Clock: where the resilience primitives (circuit breaker, outlier ejection,
// rate limiter, retry budget) read the time. Steady nanoseconds behind an
// interface so that tests drive time by hand with ManualClock instead of
// sleeping, and so that every primitive of a channel can share one clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dougong::cluster {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since an arbitrary epoch; never goes backwards.
  virtual int64_t NowNanos() const = 0;
};

// std::chrono::steady_clock. Stateless, so one process-wide instance serves
// everyone; it is the default clock of every primitive.
class SteadyClock final : public Clock {
 public:
  int64_t NowNanos() const override;
  static const SteadyClock& Instance();
};

// Time that moves only when a test says so. Safe to read from many threads
// while one thread advances it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_nanos = 0) : now_(start_nanos) {}

  int64_t NowNanos() const override { return now_.load(std::memory_order_acquire); }
  void Advance(std::chrono::nanoseconds d) { now_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void Set(int64_t nanos) { now_.store(nanos, std::memory_order_release); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace dougong::cluster
