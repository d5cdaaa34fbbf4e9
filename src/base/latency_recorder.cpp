#include "base/latency_recorder.h"

#include <bit>

namespace dougong {

int LatencyRecorder::BucketOf(uint64_t v) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (v < kSub) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBits;
  return ((shift + 1) << kSubBits) + static_cast<int>((v >> shift) & (kSub - 1));
}

uint64_t LatencyRecorder::BucketUpperBound(int bucket) {
  constexpr int kSub = 1 << kSubBits;
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  int shift = (bucket >> kSubBits) - 1;
  uint64_t mantissa = static_cast<uint64_t>(kSub + (bucket & (kSub - 1)));
  return ((mantissa + 1) << shift) - 1;
}

void LatencyRecorder::Record(uint64_t micros) {
  buckets_[BucketOf(micros)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(micros, std::memory_order_relaxed);
  uint64_t prev = max_us_.load(std::memory_order_relaxed);
  while (micros > prev && !max_us_.compare_exchange_weak(prev, micros, std::memory_order_relaxed)) {
  }
}

LatencyRecorder::Snapshot LatencyRecorder::Take() const {
  Snapshot s;
  for (int i = 0; i < kBuckets; ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum_us = sum_us_.load(std::memory_order_relaxed);
  s.max_us = max_us_.load(std::memory_order_relaxed);
  return s;
}

uint64_t LatencyRecorder::Snapshot::Quantile(double q) const {
  if (count == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count));
  if (rank == 0) rank = 1;
  if (rank > count) rank = count;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets[i];
    if (seen >= rank) {
      uint64_t ub = BucketUpperBound(i);
      return ub < max_us ? ub : max_us;
    }
  }
  return max_us;
}

}  // namespace dougong
