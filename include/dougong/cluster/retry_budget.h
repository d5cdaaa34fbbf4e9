// RetryBudget: limits retries to a fraction of the traffic, so that when a
// dependency is down retries cannot multiply the load on it (Finagle's
// RetryBudget; gRPC's retry throttling has the same aim). Defaults are
// Finagle's.
//
// Over a sliding window of `ttl`, a retry is allowed while
//   retries + 1 <= retry_ratio * requests + min_retries_per_second * ttl_seconds
// where requests counts first attempts only (OnRequest) and retries counts
// the retries allowed. The second term lets a low-traffic client still
// retry a few times; the first bounds a storm to (1 + retry_ratio) times the
// original load. Counts leave the window bucket by bucket (RollingCounts).
//
// Thread-safe: a short mutex (roll, test and count in one step).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "dougong/base/status.h"
#include "dougong/cluster/clock.h"
#include "dougong/cluster/rolling_counts.h"

namespace dougong::cluster {

struct RetryBudgetOptions {
  std::chrono::nanoseconds ttl = std::chrono::seconds(10);  // how long a deposit lasts
  int buckets = 10;
  double retry_ratio = 0.2;             // percentCanRetry
  double min_retries_per_second = 10;   // minRetriesPerSec

  // INVALID_ARGUMENT naming the first bad field; the budget replaces bad
  // fields with the defaults.
  Status Validate() const;
};

struct RetryBudgetSnapshot {
  uint64_t requests = 0;  // in the window
  uint64_t retries = 0;   // allowed, in the window
  uint64_t balance = 0;   // retries that would be allowed now
  uint64_t refused = 0;   // since creation
};

class RetryBudget {
 public:
  explicit RetryBudget(const RetryBudgetOptions& options = {}, const Clock& clock = SteadyClock::Instance());
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // A first attempt was made (do not call it for retries).
  void OnRequest();
  // May a retry be sent? true: it is counted against the budget.
  bool TryRetry();

  RetryBudgetSnapshot Snapshot() const;
  const RetryBudgetOptions& options() const { return options_; }

 private:
  enum Kind : size_t { kRequests, kRetries, kKinds };

  // How many retries the window allows in total, the reserve included.
  double AllowanceLocked(int64_t now) const;

  const RetryBudgetOptions options_;
  const Clock& clock_;
  const double reserve_;  // min_retries_per_second * ttl in seconds
  mutable std::mutex mu_;
  mutable RollingCounts<kKinds> window_;
  uint64_t refused_ = 0;
};

}  // namespace dougong::cluster
