// Warm-up: a freshly started provider gets a share of its weight that grows
// linearly with its uptime, as Dubbo does, so caches and JITs warm up before
// the instance takes its full load.
#pragma once

#include <cstdint>
#include <functional>

#include "dougong/cluster/provider.h"

namespace dougong::cluster {

// Milliseconds since the Unix epoch. Injectable so tests control time.
using EpochMsClock = std::function<int64_t()>;
int64_t SystemClockMs();

// weight * uptime / warmup, at least 1 while warming up (a starting provider
// still gets a trickle, which is what warms it), the full weight once the
// warm-up period is over, for an unknown start time (0) or for warmup <= 0.
// A start in the future (clock skew between hosts) counts as uptime 0.
// A weight of 0 stays 0.
int WarmupWeight(const Provider& provider, int64_t now_ms);

}  // namespace dougong::cluster
