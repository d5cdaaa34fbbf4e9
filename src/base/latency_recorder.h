// LatencyRecorder: a lock-free log-linear histogram of microsecond latencies
// (16 sub-buckets per power of two, so quantiles are within ~6%). Writers on
// any thread; readers take a snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace dougong {

class LatencyRecorder {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;

  void Record(uint64_t micros);

  struct Snapshot {
    uint64_t count = 0;
    uint64_t sum_us = 0;
    uint64_t max_us = 0;
    std::array<uint64_t, kBuckets> buckets{};
    // Upper bound of the bucket holding the q-quantile (0 < q <= 1).
    uint64_t Quantile(double q) const;
  };
  Snapshot Take() const;

  static int BucketOf(uint64_t micros);
  static uint64_t BucketUpperBound(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> max_us_{0};
};

}  // namespace dougong
