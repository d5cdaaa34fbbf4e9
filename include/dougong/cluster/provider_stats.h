// ProviderStats: what the calls to one provider look like right now, for the
// adaptive balancers (least active, shortest response). The caller updates
// it around each call; many threads do so at once, so it is all atomics and
// never takes a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dougong::cluster {

class ProviderStats {
 public:
  // A call to this provider is starting.
  void OnStart() { active_.fetch_add(1, std::memory_order_relaxed); }

  // The call started by the matching OnStart finished after `latency`.
  // Only successful calls feed the latency average: a provider that fails
  // fast would otherwise look fast and attract more traffic.
  void OnFinish(std::chrono::nanoseconds latency, bool ok);

  // Calls started and not finished.
  int64_t active() const { return active_.load(std::memory_order_relaxed); }
  // Exponentially weighted moving average of successful latencies; 0 until
  // the first success.
  std::chrono::nanoseconds ewma_latency() const {
    return std::chrono::nanoseconds(ewma_ns_.load(std::memory_order_relaxed));
  }
  uint64_t succeeded() const { return succeeded_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

  // Weight of a new sample in the average: 1/8, as TCP's smoothed RTT
  // (RFC 6298), which follows a shift within a few dozen calls yet ignores
  // single outliers.
  static constexpr int64_t kEwmaDivisor = 8;

 private:
  std::atomic<int64_t> active_{0};
  std::atomic<int64_t> ewma_ns_{0};
  std::atomic<uint64_t> succeeded_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace dougong::cluster
