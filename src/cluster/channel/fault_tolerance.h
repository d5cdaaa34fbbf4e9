// How the cluster channel reads an attempt's status: may it be retried, and
// what does it say about the provider's health (for breakers and ejection).
#pragma once

#include <vector>

#include "dougong/base/status.h"

namespace dougong::cluster {

// What an attempt's result tells about the provider that answered.
enum class HealthVerdict {
  kHealthy,  // OK, or an answer about the request itself (NOT_FOUND, ...)
  kFailure,  // the provider failed (UNAVAILABLE, INTERNAL, ...)
  kTimeout,  // DEADLINE_EXCEEDED
  kIgnore,   // CANCELLED: we gave up, the provider said nothing
};

HealthVerdict ClassifyHealth(Code code);

// Retryable for this method: in `always`, or idempotent and in `idempotent_only`.
bool IsRetryable(Code code, bool idempotent, const std::vector<Code>& always,
                 const std::vector<Code>& idempotent_only);

}  // namespace dougong::cluster
