#include "dougong/cluster/server_governor.h"

#include "cluster/rules/rules_watcher.h"
#include "dougong/cluster/keyed_limiters.h"
#include "dougong/cluster/rate_limiter.h"

namespace dougong::cluster {

namespace {

// One provider-side flow rule and its buckets.
struct FlowLimiter {
  FlowRule rule;
  bool keyed = false;                  // a bucket per method (glob) and/or per caller
  std::shared_ptr<RateLimiter> single;  // otherwise one bucket
  std::shared_ptr<KeyedLimiters<RateLimiter>> buckets;
};

bool HasGlob(std::string_view s) { return s.find('*') != std::string_view::npos; }

}  // namespace

struct ServerGovernor::ServiceState {
  ServiceRulesPtr rules;
  std::vector<FlowLimiter> flow;
};

ServerGovernor::ServerGovernor(const Clock& clock, size_t max_callers) : clock_(clock), max_callers_(max_callers) {}

ServerGovernor::~ServerGovernor() {
  std::vector<std::unique_ptr<ServiceRulesWatch>> watches;
  {
    std::lock_guard lock(mu_);
    watches.swap(watches_);
  }
  watches.clear();  // outside mu_: a rules update in progress takes it
}

Status ServerGovernor::Govern(std::shared_ptr<ConfigCenter> config, std::string_view service) {
  auto watch = ServiceRulesWatch::Start(std::move(config), std::string(service),
                                        [this, s = std::string(service)](const ServiceRulesPtr& rules) {
                                          SetRules(s, rules);
                                        });
  if (!watch.ok()) return watch.status();
  std::lock_guard lock(mu_);
  watches_.push_back(std::move(*watch));
  return Status();
}

void ServerGovernor::SetRules(std::string_view service, ServiceRulesPtr rules) {
  std::lock_guard lock(mu_);
  auto it = services_.find(service);
  std::shared_ptr<const ServiceState> old = it == services_.end() ? nullptr : it->second;
  auto state = std::make_shared<ServiceState>();
  state->rules = rules;
  if (rules) {
    for (const FlowRule& rule : rules->flow) {
      if (rule.side != RuleSide::kProvider) continue;
      FlowLimiter f;
      f.rule = rule;
      f.keyed = HasGlob(rule.method) || rule.per_caller;
      // The same rule as before keeps its buckets: a push that changes
      // something else must not refill them.
      bool kept = false;
      if (old)
        for (const FlowLimiter& o : old->flow)
          if (o.rule == rule) {
            f = o;
            kept = true;
            break;
          }
      if (!kept) {
        RateLimiterOptions ro;
        ro.permits_per_second = rule.qps;
        ro.burst = rule.burst;
        ro.warmup = rule.warmup;
        const Clock& clock = clock_;
        if (f.keyed) {
          f.buckets = std::make_shared<KeyedLimiters<RateLimiter>>(
              max_callers_, [ro, &clock] { return std::make_shared<RateLimiter>(ro, clock); });
        } else {
          f.single = std::make_shared<RateLimiter>(ro, clock);
        }
      }
      state->flow.push_back(std::move(f));
    }
  }
  services_[std::string(service)] = std::move(state);
}

Status ServerGovernor::Admit(std::string_view service, std::string_view method, std::string_view caller_app,
                             std::string_view caller_host) {
  std::shared_ptr<const ServiceState> state;
  {
    std::lock_guard lock(mu_);
    auto it = services_.find(service);
    if (it != services_.end()) state = it->second;
  }
  if (!state || !state->rules) {
    admitted_.fetch_add(1, std::memory_order_relaxed);
    return Status();
  }
  if (Status st = CheckAccess(state->rules->access, caller_app, caller_host); !st.ok()) {
    denied_.fetch_add(1, std::memory_order_relaxed);
    return Status(st.code(), std::string(service) + "/" + std::string(method) + ": " + st.message());
  }
  for (const FlowLimiter& f : state->flow) {
    const FlowRule& r = f.rule;
    if (!GlobMatch(r.method, method)) continue;
    if (!r.caller.empty() && !GlobMatch(r.caller, caller_app)) continue;
    std::shared_ptr<RateLimiter> bucket = f.single;
    if (f.keyed) {
      std::string key = HasGlob(r.method) ? std::string(method) : std::string();
      if (r.per_caller) {
        key += '\0';
        key += caller_app;
      }
      bucket = f.buckets->Get(key);
    }
    if (!bucket->TryAcquire()) {
      limited_.fetch_add(1, std::memory_order_relaxed);
      std::string who = r.per_caller ? " for caller '" + std::string(caller_app) + "'" : std::string();
      return ResourceExhausted(std::string(service) + "/" + std::string(method) + ": rate limit (" +
                               std::to_string(static_cast<int64_t>(r.qps)) + " qps, flow rule method '" + r.method +
                               "')" + who + " exceeded");
    }
  }
  admitted_.fetch_add(1, std::memory_order_relaxed);
  return Status();
}

rpc::AdmissionHook ServerGovernor::AdmissionHook() {
  return [this](const rpc::AdmissionInfo& call) {
    const std::string* app = rpc::FindMetadata(call.metadata, kCallerMetadata);
    return Admit(call.service, call.method, app ? std::string_view(*app) : std::string_view(), call.peer);
  };
}

ServerGovernorCounters ServerGovernor::counters() const {
  ServerGovernorCounters c;
  c.admitted = admitted_.load(std::memory_order_relaxed);
  c.denied = denied_.load(std::memory_order_relaxed);
  c.limited = limited_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  for (const auto& w : watches_) c.rules_rejected += w->rejected();
  return c;
}

}  // namespace dougong::cluster
