// RollingCounts<K>: K counters summed over a sliding time window made of N
// equal buckets (Hystrix's "rolling number"). Time is cut into buckets of
// window/N; a count lands in the bucket of its time, and a bucket leaves the
// sums once it is N buckets old. So the sums cover between (N-1)/N and all
// of the window, and old counts leave in steps of one bucket, not one by one:
// that is what keeps recording O(1) (running totals, no per-event storage).
//
// Not thread-safe: the owner (circuit breaker, retry budget) holds a lock,
// because it must roll, count and decide in one step anyway.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace dougong::cluster {

template <size_t K>
class RollingCounts {
 public:
  using Counts = std::array<uint64_t, K>;

  // window_nanos >= buckets >= 1 (callers validate their options).
  RollingCounts(int64_t window_nanos, int buckets)
      : bucket_nanos_(window_nanos / buckets), buckets_(static_cast<size_t>(buckets)) {}

  void Add(int64_t now_nanos, size_t kind, uint64_t n = 1) {
    Roll(now_nanos);
    buckets_[Slot(newest_)][kind] += n;
    totals_[kind] += n;
  }

  // The sums over the window that ends at `now_nanos`.
  const Counts& Sums(int64_t now_nanos) {
    Roll(now_nanos);
    return totals_;
  }

  void Reset() {
    for (Counts& b : buckets_) b = {};
    totals_ = {};
  }

 private:
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

  size_t Slot(int64_t bucket_index) const {
    const auto n = static_cast<int64_t>(buckets_.size());
    return static_cast<size_t>(((bucket_index % n) + n) % n);
  }

  // Drops the buckets that left the window. A time older than the newest
  // bucket (threads read the clock before taking the owner's lock) counts in
  // the newest bucket.
  void Roll(int64_t now_nanos) {
    int64_t index = now_nanos / bucket_nanos_;
    if (now_nanos < 0 && now_nanos % bucket_nanos_ != 0) --index;  // floor
    if (newest_ != kNone && index <= newest_) return;
    const auto n = static_cast<int64_t>(buckets_.size());
    if (newest_ == kNone || index - newest_ >= n) {
      Reset();
    } else {
      for (int64_t b = newest_ + 1; b <= index; ++b) {
        Counts& bucket = buckets_[Slot(b)];
        for (size_t k = 0; k < K; ++k) totals_[k] -= bucket[k];
        bucket = {};
      }
    }
    newest_ = index;
  }

  int64_t bucket_nanos_;
  std::vector<Counts> buckets_;
  Counts totals_{};
  int64_t newest_ = kNone;  // absolute index (time / bucket length) of the newest bucket
};

}  // namespace dougong::cluster
