#include "cluster/balancer_util.h"

#include <string>

namespace dougong::cluster {

Status NoProviderLeft(const ProviderSet& providers, const SelectContext& ctx) {
  if (providers.empty()) return Unavailable("no provider to select from");
  return Unavailable("all " + std::to_string(providers.size()) +
                     " providers are excluded (already tried)");
}

EpochMsClock ClockOrSystem(const EpochMsClock& clock) { return clock ? clock : EpochMsClock(SystemClockMs); }

}  // namespace dougong::cluster
