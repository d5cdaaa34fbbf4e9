#include "dougong/cluster/warmup.h"

#include <algorithm>
#include <chrono>

namespace dougong::cluster {

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int WarmupWeight(const Provider& provider, int64_t now_ms) {
  const int weight = provider.weight;
  if (weight <= 0 || provider.start_time_ms <= 0 || provider.warmup_ms <= 0) return weight;
  const int64_t uptime = std::max<int64_t>(now_ms - provider.start_time_ms, 0);
  if (uptime >= provider.warmup_ms) return weight;
  // uptime < warmup_ms and weight < 2^31, so the product fits in 64 bits
  // for any warm-up shorter than ~136 years.
  const int64_t warming = int64_t{weight} * uptime / provider.warmup_ms;
  return static_cast<int>(std::max<int64_t>(warming, 1));
}

}  // namespace dougong::cluster
