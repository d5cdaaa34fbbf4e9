#include "cluster/channel/method_state.h"

namespace dougong::cluster {
namespace {

const CallPolicy& PolicyOf(const std::string& name, const ClusterChannelOptions& options) {
  auto it = options.method_policies.find(name);
  return it == options.method_policies.end() ? options.policy : it->second;
}

bool Same(const RateLimiterOptions& a, const RateLimiterOptions& b) {
  return a.permits_per_second == b.permits_per_second && a.burst == b.burst && a.warmup == b.warmup &&
         a.cold_factor == b.cold_factor;
}

bool Same(const CircuitBreakerOptions& a, const CircuitBreakerOptions& b) {
  return a.window == b.window && a.buckets == b.buckets && a.request_volume_threshold == b.request_volume_threshold &&
         a.error_threshold_percent == b.error_threshold_percent && a.sleep_window == b.sleep_window &&
         a.half_open_trials == b.half_open_trials;
}

template <class T>
bool Same(const std::optional<T>& a, const std::optional<T>& b) {
  return a.has_value() == b.has_value() && (!a || Same(*a, *b));
}

// The first rule of `rules` for this method (exact name or glob), or null.
template <class Rule, class Pred>
const Rule* RuleFor(const std::vector<Rule>& rules, const std::string& method, Pred pred) {
  for (const Rule& r : rules)
    if (pred(r) && GlobMatch(r.method, method)) return &r;
  return nullptr;
}

}  // namespace

MethodState::MethodState(std::string method, const ClusterChannelOptions& options, const Clock& clock,
                         const ServiceRules* rules)
    : name(std::move(method)),
      policy(PolicyOf(name, options)),
      listed_idempotent(options.idempotent_methods.contains(name)),
      concurrency(policy.max_concurrency),
      clock_(clock),
      configured_breaker_(options.method_breaker) {
  ApplyRules(rules);
}

void MethodState::ApplyRules(const ServiceRules* rules) {
  std::optional<RateLimiterOptions> rate;
  size_t max_concurrency = policy.max_concurrency;
  std::optional<CircuitBreakerOptions> breaker = configured_breaker_;
  if (policy.rate_limit_qps > 0) {
    rate.emplace();
    rate->permits_per_second = policy.rate_limit_qps;
    rate->burst = policy.rate_limit_burst;
  }
  if (rules) {
    auto consumer = [](const FlowRule& r) { return r.side == RuleSide::kConsumer; };
    if (const FlowRule* f = RuleFor(rules->flow, name, consumer)) {
      rate.emplace();
      rate->permits_per_second = f->qps;
      rate->burst = f->burst;
      rate->warmup = f->warmup;
    }
    auto any = [](const auto&) { return true; };
    if (const ConcurrencyRule* c = RuleFor(rules->concurrency, name, any)) max_concurrency = c->max;
    if (const BreakerRule* b = RuleFor(rules->breakers, name, any)) {
      breaker.reset();
      if (b->enabled) breaker = b->options;
    }
  }
  std::lock_guard lock(rules_mu_);
  if (!Same(rate, rate_options_) || (rate && !rate_.load())) {
    rate_.store(rate ? std::make_shared<RateLimiter>(*rate, clock_) : nullptr, std::memory_order_release);
    rate_options_ = rate;
  }
  if (!Same(breaker, breaker_options_) || (breaker && !breaker_.load())) {
    breaker_.store(breaker ? std::make_shared<CircuitBreaker>(*breaker, clock_) : nullptr,
                   std::memory_order_release);
    breaker_options_ = breaker;
  }
  if (concurrency.limit() != max_concurrency) concurrency.SetLimit(max_concurrency);
}

ClusterMethodStatus MethodState::Snapshot() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  ClusterMethodStatus s;
  s.method = name;
  s.mode = policy.mode;
  s.calls = get(counters.calls);
  s.succeeded = get(counters.succeeded);
  s.failed = get(counters.failed);
  s.retries = get(counters.retries);
  s.hedges = get(counters.hedges);
  s.rejected = get(counters.rejected);
  s.short_circuited = get(counters.short_circuited);
  s.fallbacks = get(counters.fallbacks);
  s.failsafe_swallowed = get(counters.failsafe_swallowed);
  s.failback_queued = get(counters.failback_queued);
  s.in_process = get(counters.in_process);
  s.in_flight = concurrency.in_flight();
  if (auto b = breaker()) s.breaker = b->Snapshot();
  return s;
}

}  // namespace dougong::cluster
