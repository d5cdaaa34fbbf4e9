// Service rules: the governance settings of one service that operators
// change at run time, kept as one YAML document in the config center at
// `services/SERVICE/rules` (docs/rules.md has the schema):
//
//   weights:        provider weight overrides by address (0 drains one)
//   tag_route:      Dubbo's tag routing (request tag from `dougong-tag`)
//   condition_route: Dubbo's condition routing ("method = Get* => zone = az1")
//   access:         black and white lists of callers (application, host)
//   flow:           token-bucket rate limits per method and per caller
//   concurrency:    calls in flight per method (consumer side)
//   breakers:       circuit breaker settings per method (consumer side)
//
// ParseServiceRules checks everything (unknown fields are errors, with the
// line); consumers and providers apply only rules that parsed, and keep the
// last good ones when a bad document is pushed.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/cluster/circuit_breaker.h"
#include "dougong/cluster/provider.h"
#include "dougong/cluster/select_context.h"
#include "dougong/rpc/types.h"

namespace dougong::cluster {

// Request metadata the rules read.
inline constexpr std::string_view kCallerMetadata = "dougong-caller";  // the caller's application name
inline constexpr std::string_view kTagMetadata = "dougong-tag";        // the request's routing tag
// A provider's own tag: Provider::tags["dougong-tag"] (file format
// `tag.dougong-tag=gray`), besides the addresses a tag rule lists.
inline constexpr std::string_view kProviderTagKey = "dougong-tag";

// The config center key of a service's rules.
std::string ServiceRulesKey(std::string_view service);

// One side of a condition: `key = a,b*` or `key != a`.
struct ConditionMatch {
  std::string key;
  bool negate = false;
  std::vector<std::string> patterns;  // '*' matches any run of characters
};

// "WHEN => THEN"; an empty WHEN matches every call, an empty THEN matches no
// provider (the calls WHEN selects are refused).
struct ConditionRule {
  std::string text;
  std::vector<ConditionMatch> when;  // method, caller, host, tag, metadata.NAME
  std::vector<ConditionMatch> then;  // host, address, port, zone, version, group, tag.NAME
};

struct ConditionRoute {
  bool enabled = true;
  // When a rule matches a call but no provider: true fails the call
  // (UNAVAILABLE naming the rule), false ignores that rule.
  bool force = false;
  std::vector<ConditionRule> rules;
};

struct TagRoute {
  bool enabled = true;
  // A tagged request and no provider with its tag: true fails the call,
  // false falls back to the untagged providers.
  bool force = false;
  std::map<std::string, std::vector<std::string>> addresses;  // tag -> provider addresses
};

struct AccessList {
  std::vector<std::string> apps;   // caller application names (globs)
  std::vector<std::string> hosts;  // caller hosts (globs)
  bool empty() const { return apps.empty() && hosts.empty(); }
};

struct AccessControl {
  AccessList blacklist;  // these callers are refused
  AccessList whitelist;  // when not empty, only these callers are let in
};

enum class RuleSide : uint8_t { kProvider, kConsumer };

// Sentinel's flow rule as a token bucket (RateLimiter).
struct FlowRule {
  std::string method = "*";  // "*": every method, each its own bucket
  std::string caller;        // only this caller's calls (empty: every caller)
  bool per_caller = false;   // each caller its own bucket
  double qps = 0;
  double burst = 0;  // 0: one second's worth
  std::chrono::milliseconds warmup{0};
  RuleSide side = RuleSide::kProvider;

  bool operator==(const FlowRule&) const = default;
};

struct ConcurrencyRule {
  std::string method;
  size_t max = 0;  // 0: unlimited
};

struct BreakerRule {
  std::string method;
  bool enabled = true;  // false: no method breaker
  CircuitBreakerOptions options;
};

struct ServiceRules {
  std::map<std::string, int> weights;  // address -> weight
  TagRoute tag_route;
  ConditionRoute condition_route;
  AccessControl access;
  std::vector<FlowRule> flow;
  std::vector<ConcurrencyRule> concurrency;
  std::vector<BreakerRule> breakers;
};
using ServiceRulesPtr = std::shared_ptr<const ServiceRules>;

// INVALID_ARGUMENT "rules: line 7: flow[1].qps: ..." for anything wrong:
// YAML syntax, unknown fields, bad values. An empty document is no rules.
Result<ServiceRules> ParseServiceRules(std::string_view yaml);

// A single condition "WHEN => THEN" (Dubbo's syntax, `&` between matches).
Result<ConditionRule> ParseConditionRule(std::string_view text);

// '*' globs.
bool GlobMatch(std::string_view pattern, std::string_view text);

// The providers with the weight overrides applied (ProviderSet::Create with
// `set` as previous, so they keep its statistics); `set` itself when no
// override names one of them.
ProviderSetPtr ApplyWeights(const ServiceRules& rules, const ProviderSetPtr& set);

// What routing knows about a call.
struct RouteRequest {
  std::string_view method;
  std::string_view caller;       // application
  std::string_view caller_host;  // the consumer's host
  std::string_view tag;          // the request's tag (kTagMetadata)
  const rpc::Metadata* metadata = nullptr;
};

// Adds to *routed_out the providers of `set` the rules do not let this call
// go to. UNAVAILABLE naming the rule when routing leaves none (a forced or
// blocking rule).
Status Route(const ServiceRules& rules, const ProviderSet& set, const RouteRequest& request,
             ExclusionSet* routed_out);

// The provider-side access decision: PERMISSION_DENIED naming the list.
Status CheckAccess(const AccessControl& access, std::string_view caller, std::string_view caller_host);

}  // namespace dougong::cluster
