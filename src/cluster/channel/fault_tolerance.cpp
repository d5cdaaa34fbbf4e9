#include "cluster/channel/fault_tolerance.h"

#include <algorithm>
#include <array>
#include <string>

#include "dougong/cluster/cluster_channel.h"

namespace dougong::cluster {
namespace {

constexpr std::array<std::pair<FaultTolerance, std::string_view>, 7> kNames{{
    {FaultTolerance::kFailover, "failover"},
    {FaultTolerance::kFailfast, "failfast"},
    {FaultTolerance::kFailsafe, "failsafe"},
    {FaultTolerance::kFailback, "failback"},
    {FaultTolerance::kForking, "forking"},
    {FaultTolerance::kBroadcast, "broadcast"},
    {FaultTolerance::kAvailable, "available"},
}};

bool Contains(const std::vector<Code>& codes, Code code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

std::string_view FaultToleranceName(FaultTolerance mode) {
  for (const auto& [m, name] : kNames)
    if (m == mode) return name;
  return "unknown";
}

Result<FaultTolerance> ParseFaultTolerance(std::string_view name) {
  for (const auto& [m, n] : kNames)
    if (n == name) return m;
  return InvalidArgument("unknown fault-tolerance mode '" + std::string(name) + "'");
}

HealthVerdict ClassifyHealth(Code code) {
  switch (code) {
    case Code::kCancelled:
      return HealthVerdict::kIgnore;
    case Code::kDeadlineExceeded:
      return HealthVerdict::kTimeout;
    // The provider could not serve: down, overloaded, broken.
    case Code::kUnknown:
    case Code::kResourceExhausted:
    case Code::kInternal:
    case Code::kUnavailable:
    case Code::kDataLoss:
      return HealthVerdict::kFailure;
    // OK and answers about the request: the provider works, the caller's
    // request was refused. Counting them would let bad requests eject
    // healthy providers.
    default:
      return HealthVerdict::kHealthy;
  }
}

bool IsRetryable(Code code, bool idempotent, const std::vector<Code>& always,
                 const std::vector<Code>& idempotent_only) {
  return Contains(always, code) || (idempotent && Contains(idempotent_only, code));
}

}  // namespace dougong::cluster
