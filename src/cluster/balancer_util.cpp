#include "cluster/balancer_util.h"

#include <string>

namespace dougong::cluster {

Status NoProviderLeft(const ProviderSet& providers, const SelectContext& ctx) {
  if (providers.empty()) return Unavailable("no provider to select from");
  return Unavailable("all " + std::to_string(providers.size()) +
                     " providers are excluded (already tried)");
}

Clock ClockOrSystem(const Clock& clock) { return clock ? clock : Clock(SystemClockMs); }

}  // namespace dougong::cluster
