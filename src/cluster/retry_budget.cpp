#include "dougong/cluster/retry_budget.h"

#include <cmath>

#include "cluster/option_check.h"

namespace dougong::cluster {
namespace {

Status Check(RetryBudgetOptions& o) {
  const RetryBudgetOptions d;
  OptionCheck c;
  if (c.Bad(ValidWindow(o.ttl, o.buckets), "retry budget: buckets must be >= 1, ttl >= 1 ns per bucket")) {
    o.ttl = d.ttl;
    o.buckets = d.buckets;
  }
  if (c.Bad(FiniteAtLeast(o.retry_ratio, 0), "retry budget: retry_ratio must be >= 0")) {
    o.retry_ratio = d.retry_ratio;
  }
  if (c.Bad(FiniteAtLeast(o.min_retries_per_second, 0), "retry budget: min_retries_per_second must be >= 0")) {
    o.min_retries_per_second = d.min_retries_per_second;
  }
  return c.status();
}

// Rounding of ratio * requests (0.2 * 5 is 1.0000000000000002 or so) must
// not cost or grant a retry.
constexpr double kEpsilon = 1e-9;

}  // namespace

Status RetryBudgetOptions::Validate() const {
  RetryBudgetOptions copy = *this;
  return Check(copy);
}

RetryBudget::RetryBudget(const RetryBudgetOptions& options, const Clock& clock)
    : options_(Repaired(options, &Check)),
      clock_(clock),
      reserve_(options_.min_retries_per_second * static_cast<double>(options_.ttl.count()) / 1e9),
      window_(options_.ttl.count(), options_.buckets) {}

double RetryBudget::AllowanceLocked(int64_t now) const {
  const auto& sums = window_.Sums(now);
  return options_.retry_ratio * static_cast<double>(sums[kRequests]) + reserve_ + kEpsilon;
}

void RetryBudget::OnRequest() {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  window_.Add(now, kRequests);
}

bool RetryBudget::TryRetry() {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  const double allowance = AllowanceLocked(now);
  if (static_cast<double>(window_.Sums(now)[kRetries] + 1) > allowance) {
    ++refused_;
    return false;
  }
  window_.Add(now, kRetries);
  return true;
}

RetryBudgetSnapshot RetryBudget::Snapshot() const {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  RetryBudgetSnapshot s;
  const double allowance = AllowanceLocked(now);
  const auto& sums = window_.Sums(now);
  s.requests = sums[kRequests];
  s.retries = sums[kRetries];
  const double left = std::floor(allowance) - static_cast<double>(s.retries);
  s.balance = left > 0 ? static_cast<uint64_t>(left) : 0;
  s.refused = refused_;
  return s;
}

}  // namespace dougong::cluster
