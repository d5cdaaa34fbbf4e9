#include "dougong/cluster/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "cluster/option_check.h"

namespace dougong::cluster {
namespace {

constexpr double kNanosPerSecond = 1e9;

Status Check(RateLimiterOptions& o) {
  const RateLimiterOptions d;
  OptionCheck c;
  if (c.Bad(FiniteAtLeast(o.permits_per_second, 0) && o.permits_per_second > 0,
            "rate limiter: permits_per_second must be > 0")) {
    o.permits_per_second = d.permits_per_second;
  }
  if (c.Bad(FiniteAtLeast(o.burst, 0), "rate limiter: burst must be >= 0")) o.burst = d.burst;
  if (c.Bad(o.warmup.count() >= 0, "rate limiter: warmup must be >= 0")) o.warmup = d.warmup;
  if (c.Bad(FiniteAtLeast(o.cold_factor, 1), "rate limiter: cold_factor must be >= 1")) {
    o.cold_factor = d.cold_factor;
  }
  return c.status();
}

// Repaired, with the default burst made explicit.
RateLimiterOptions Effective(const RateLimiterOptions& options) {
  RateLimiterOptions o = Repaired(options, &Check);
  if (o.burst == 0) o.burst = std::max(1.0, o.permits_per_second);
  return o;
}

}  // namespace

Status RateLimiterOptions::Validate() const {
  RateLimiterOptions copy = *this;
  return Check(copy);
}

RateLimiter::RateLimiter(const RateLimiterOptions& options, const Clock& clock)
    : options_(Effective(options)), clock_(clock), origin_(clock.NowNanos()) {
  stable_ns_ = kNanosPerSecond / options_.permits_per_second;
  burst_ns_ = options_.burst * stable_ns_;
  const auto warmup_ns = static_cast<double>(options_.warmup.count());
  if (warmup_ns > 0) {
    const double cold_ns = stable_ns_ * options_.cold_factor;
    threshold_ = 0.5 * warmup_ns / stable_ns_;
    max_stored_ = threshold_ + 2 * warmup_ns / (stable_ns_ + cold_ns);
    slope_ = (cold_ns - stable_ns_) / (max_stored_ - threshold_);
    cool_down_ns_ = warmup_ns / max_stored_;
    stored_ = max_stored_;  // start cold
  }
}

double RateLimiter::StoredCost(double k) const {
  const double above = std::min(k, std::max(0.0, stored_ - threshold_));
  const double below = k - above;
  // The cost per permit falls linearly from the level `stored_` to
  // `stored_ - above`: the area of a trapezoid.
  const double cost_at_top = stable_ns_ + (stored_ - threshold_) * slope_;
  const double cost_at_bottom = stable_ns_ + (stored_ - above - threshold_) * slope_;
  return (above > 0 ? above * (cost_at_top + cost_at_bottom) / 2 : 0) + below * stable_ns_;
}

bool RateLimiter::TryAcquire(uint32_t n) {
  const auto now = static_cast<double>(clock_.NowNanos() - origin_);
  std::lock_guard lock(mu_);
  if (now > next_free_) {
    // The bucket has been full since next_free_: that idle time cools the
    // limiter down.
    if (cool_down_ns_ > 0) stored_ = std::min(max_stored_, stored_ + (now - next_free_) / cool_down_ns_);
    next_free_ = now;
  }
  const double from_stored = std::min(static_cast<double>(n), stored_);
  const double cost = StoredCost(from_stored) + (n - from_stored) * stable_ns_;
  // The bucket holds burst * stable of time, but at least the price of the
  // next permit: a cold permit costs up to cold_factor intervals, and a small
  // bucket must not lock a cold limiter out. A tiny epsilon absorbs the
  // rounding of sums of fractional intervals, so that exactly `burst`
  // permits fit in a full bucket.
  const double next_permit_ns = stable_ns_ + std::max(0.0, stored_ - threshold_) * slope_;
  if (next_free_ + cost - now > std::max(burst_ns_, next_permit_ns) * (1 + 1e-12)) {
    ++rejected_;
    return false;
  }
  next_free_ += cost;
  stored_ -= from_stored;
  admitted_ += n;
  return true;
}

double RateLimiter::stored_permits() const {
  std::lock_guard lock(mu_);
  return stored_;
}

uint64_t RateLimiter::admitted() const {
  std::lock_guard lock(mu_);
  return admitted_;
}

uint64_t RateLimiter::rejected() const {
  std::lock_guard lock(mu_);
  return rejected_;
}

}  // namespace dougong::cluster
