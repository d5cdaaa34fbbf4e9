#include "dougong/cluster/provider_stats.h"

#include <algorithm>

namespace dougong::cluster {

void ProviderStats::OnFinish(std::chrono::nanoseconds latency, bool ok) {
  active_.fetch_sub(1, std::memory_order_relaxed);
  if (!ok) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  succeeded_.fetch_add(1, std::memory_order_relaxed);
  // 0 means "no sample yet", so a sample is at least 1ns.
  const int64_t sample = std::max<int64_t>(latency.count(), 1);
  int64_t old = ewma_ns_.load(std::memory_order_relaxed);
  int64_t next;
  do {
    next = old == 0 ? sample : old + (sample - old) / kEwmaDivisor;
    if (next <= 0) next = 1;
  } while (!ewma_ns_.compare_exchange_weak(old, next, std::memory_order_relaxed));
}

}  // namespace dougong::cluster
