// The service rules without a network: the YAML parser and its errors,
// condition and tag routing, weight overrides seen by a balancer, access
// lists and flow limits in the ServerGovernor, the config value parsers and
// the cache file codec.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "cluster/rules/config_cache.h"
#include "dougong/cluster/config_center.h"
#include "dougong/cluster/load_balancer.h"
#include "dougong/cluster/rules.h"
#include "dougong/cluster/server_governor.h"

namespace dougong::cluster {
namespace {

using namespace std::chrono_literals;

constexpr char kFullRules[] = R"(
weights:
  - address: 10.0.0.3:8000
    weight: 0
tag_route:
  force: false
  tags:
    - name: gray
      addresses: [10.0.0.2:8000]
condition_route:
  force: true
  conditions:
    - "method = Get* & caller = web => zone = az1"
    - "metadata.region = eu => host != 10.0.0.1"
access:
  blacklist: {apps: [crawler*], hosts: [10.9.9.9]}
  whitelist: {apps: [web, admin]}
flow:
  - {method: Echo, qps: 100, burst: 10, warmup: 5s}
  - {method: "*", per_caller: true, qps: 5}
  - {method: Echo, qps: 50, side: consumer}
concurrency:
  - {method: Echo, max: 8}
breakers:
  - {method: Echo, error_percent: 30, request_volume: 10, sleep_window: 2s}
)";

TEST(RulesParse, AFullDocument) {
  auto r = ParseServiceRules(kFullRules);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->weights.at("10.0.0.3:8000"), 0);
  EXPECT_EQ(r->tag_route.addresses.at("gray"), std::vector<std::string>{"10.0.0.2:8000"});
  ASSERT_EQ(r->condition_route.rules.size(), 2u);
  EXPECT_TRUE(r->condition_route.force);
  EXPECT_EQ(r->condition_route.rules[0].when.size(), 2u);
  EXPECT_EQ(r->condition_route.rules[1].then[0].key, "host");
  EXPECT_TRUE(r->condition_route.rules[1].then[0].negate);
  EXPECT_EQ(r->access.blacklist.apps, std::vector<std::string>{"crawler*"});
  ASSERT_EQ(r->flow.size(), 3u);
  EXPECT_EQ(r->flow[0].warmup, 5s);
  EXPECT_TRUE(r->flow[1].per_caller);
  EXPECT_EQ(r->flow[2].side, RuleSide::kConsumer);
  EXPECT_EQ(r->concurrency[0].max, 8u);
  EXPECT_EQ(r->breakers[0].options.error_threshold_percent, 30);
  EXPECT_EQ(r->breakers[0].options.sleep_window, 2s);
  EXPECT_TRUE(ParseServiceRules("").ok());  // no rules
}

TEST(RulesParse, ErrorsNameTheLineAndTheField) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"weights:\n  - address: a:1\n    wieght: 3\n", "line 3: weights[0].wieght: unknown field"},
      {"flow:\n  - method: Echo\n    qps: fast\n", "line 3: flow[0].qps: 'fast' is not a number"},
      {"flow:\n  - method: Echo\n    qps: 0\n", "flow[0].qps: must be > 0"},
      {"flow:\n  - {method: Echo, qps: 1, warmup: 5 parsecs}\n", "flow[0].warmup"},
      {"flow:\n  - {qps: 1, side: middle}\n", "flow[0].side: want provider or consumer"},
      {"condition_route:\n  conditions:\n    - \"method = Get\"\n", "line 3: condition_route.conditions[0]: 'method = Get': no '=>'"},
      {"condition_route:\n  conditions: [\"colour = red => host = a\"]\n", "unknown call key 'colour'"},
      {"condition_route:\n  conditions: [\"=> planet = mars\"]\n", "unknown provider key 'planet'"},
      {"breakers:\n  - {method: Echo, error_percent: 101}\n", "breakers[0].error_percent: must be in [1, 100]"},
      {"access:\n  greylist: {apps: [a]}\n", "line 2: access.greylist: unknown field"},
      {"weights: [\n", "line "},  // YAML syntax
      {"just text", "want a mapping"},
      {"tag_route:\n  tags:\n    - {name: a}\n    - {name: a}\n", "tag 'a' is listed twice"},
  };
  for (const Case& c : cases) {
    auto r = ParseServiceRules(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message() << "\nwant: " << c.want;
  }
}

TEST(RulesParse, Globs) {
  EXPECT_TRUE(GlobMatch("Get*", "GetUser"));
  EXPECT_TRUE(GlobMatch("*User", "GetUser"));
  EXPECT_TRUE(GlobMatch("G*U*r", "GetUser"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("Get*", "PutUser"));
  EXPECT_FALSE(GlobMatch("Get", "GetUser"));
}

ProviderSetPtr Providers() {
  std::vector<Provider> ps(4);
  ps[0].address = "10.0.0.1:8000";
  ps[0].zone = "az1";
  ps[1].address = "10.0.0.2:8000";
  ps[1].zone = "az1";
  ps[2].address = "10.0.0.3:8000";
  ps[2].zone = "az2";
  ps[3].address = "10.0.0.4:8000";
  ps[3].zone = "az2";
  ps[3].tags["dougong-tag"] = "canary";
  return *ProviderSet::Create(ps);
}

std::set<std::string> Routed(const ServiceRules& rules, const ProviderSet& set, RouteRequest r, Status* st = nullptr) {
  ExclusionSet out;
  Status s = Route(rules, set, r, &out);
  if (st) *st = s;
  std::set<std::string> left;
  if (!s.ok()) return left;
  for (size_t i = 0; i < set.size(); ++i)
    if (!out.Contains(i)) left.insert(set[i].address);
  return left;
}

TEST(Routing, ConditionsByMethodCallerAndMetadata) {
  auto rules = ParseServiceRules(R"(
condition_route:
  conditions:
    - "method = Get* & caller = web => zone = az1"
    - "metadata.region = eu => host != 10.0.0.1"
    - "caller = banned =>"
)");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ProviderSetPtr set = Providers();
  rpc::Metadata eu = {{"region", "eu"}};
  // Untagged calls never reach the canary (10.0.0.4).
  EXPECT_EQ(Routed(*rules, *set, {"GetUser", "web", "", "", nullptr}),
            (std::set<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"}));
  EXPECT_EQ(Routed(*rules, *set, {"PutUser", "web", "", "", nullptr}),
            (std::set<std::string>{"10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"}));
  EXPECT_EQ(Routed(*rules, *set, {"GetUser", "web", "", "", &eu}), (std::set<std::string>{"10.0.0.2:8000"}));
  Status st;
  Routed(*rules, *set, {"GetUser", "banned", "", "", nullptr}, &st);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("caller = banned =>"), std::string::npos) << st.message();
}

TEST(Routing, NoMatchingProviderFallsBackUnlessForced) {
  const char* doc = R"(
condition_route:
  force: %s
  conditions: ["method = Get => zone = az9"]
)";
  char lenient[256], forced[256];
  std::snprintf(lenient, sizeof lenient, doc, "false");
  std::snprintf(forced, sizeof forced, doc, "true");
  ProviderSetPtr set = Providers();
  Status st;
  EXPECT_EQ(Routed(*ParseServiceRules(lenient), *set, {"Get", "", "", "", nullptr}, &st).size(), 3u);
  Routed(*ParseServiceRules(forced), *set, {"Get", "", "", "", nullptr}, &st);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("zone = az9"), std::string::npos) << st.message();
}

TEST(Routing, TagsSelectTheirProvidersAndFallBack) {
  auto rules = ParseServiceRules("tag_route:\n  tags:\n    - {name: gray, addresses: [10.0.0.2:8000]}\n");
  ASSERT_TRUE(rules.ok());
  ProviderSetPtr set = Providers();
  EXPECT_EQ(Routed(*rules, *set, {"Echo", "", "", "gray", nullptr}), (std::set<std::string>{"10.0.0.2:8000"}));
  // The provider's own tag (registry tag dougong-tag).
  EXPECT_EQ(Routed(*rules, *set, {"Echo", "", "", "canary", nullptr}), (std::set<std::string>{"10.0.0.4:8000"}));
  // No provider with the tag: the untagged ones.
  EXPECT_EQ(Routed(*rules, *set, {"Echo", "", "", "blue", nullptr}),
            (std::set<std::string>{"10.0.0.1:8000", "10.0.0.3:8000"}));
  EXPECT_EQ(Routed(*rules, *set, {"Echo", "", "", "", nullptr}),
            (std::set<std::string>{"10.0.0.1:8000", "10.0.0.3:8000"}));
  auto forced = ParseServiceRules("tag_route:\n  force: true\n");
  Status st;
  Routed(*forced, *set, {"Echo", "", "", "blue", nullptr}, &st);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("no provider tagged 'blue'"), std::string::npos);
}

TEST(Routing, WeightOverridesReachTheBalancer) {
  auto rules = ParseServiceRules("weights:\n  - {address: 10.0.0.1:8000, weight: 0}\n  - {address: 10.0.0.2:8000, weight: 300}\n");
  ASSERT_TRUE(rules.ok());
  ProviderSetPtr set = Providers();
  set->stats(1).OnStart();  // statistics carry over to the new snapshot
  ProviderSetPtr weighted = ApplyWeights(*rules, set);
  ASSERT_NE(weighted, set);
  EXPECT_EQ((*weighted)[0].weight, 0);
  EXPECT_EQ((*weighted)[1].weight, 300);
  EXPECT_EQ(weighted->stats(1).active(), 1);
  LoadBalancerOptions o;
  o.seed = 7;
  auto lb = NewLoadBalancer("roundrobin", o);
  ASSERT_TRUE(lb.ok());
  std::map<size_t, int> picks;
  for (int i = 0; i < 500; ++i) ++picks[*(*lb)->Select(*weighted, {})];
  EXPECT_EQ(picks[0], 0);
  EXPECT_EQ(picks[1], 300);  // 300 of every 500 (0 + 300 + 100 + 100)
  EXPECT_EQ(ApplyWeights(ServiceRules{}, set), set);
}

TEST(Governor, BlackAndWhiteLists) {
  ServerGovernor g;
  g.SetRules("svc", std::make_shared<const ServiceRules>(*ParseServiceRules(R"(
access:
  blacklist: {apps: [crawler*], hosts: [10.9.9.9]}
  whitelist: {apps: [web, admin], hosts: [10.1.*]}
)")));
  EXPECT_TRUE(g.Admit("svc", "Get", "web", "10.0.0.7:5000").ok());
  EXPECT_TRUE(g.Admit("svc", "Get", "batch", "10.1.2.3").ok());  // by host
  Status st = g.Admit("svc", "Get", "crawler-2", "10.0.0.7");
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("blacklist"), std::string::npos) << st.message();
  EXPECT_EQ(g.Admit("svc", "Get", "web", "10.9.9.9:1").code(), Code::kPermissionDenied);
  st = g.Admit("svc", "Get", "batch", "10.0.0.7");
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("not on the whitelist"), std::string::npos);
  EXPECT_EQ(g.Admit("svc", "Get", "", "10.0.0.7").code(), Code::kPermissionDenied);
  EXPECT_TRUE(g.Admit("other", "Get", "anyone", "h").ok());  // no rules
  EXPECT_EQ(g.counters().denied, 4u);
}

TEST(Governor, PerMethodAndPerCallerBuckets) {
  ManualClock clock;
  ServerGovernor g(clock);
  auto rules = std::make_shared<const ServiceRules>(*ParseServiceRules(R"(
flow:
  - {method: Echo, qps: 10, burst: 10}
  - {method: "*", per_caller: true, qps: 3, burst: 3}
)"));
  g.SetRules("svc", rules);
  // Per caller: 3 each, whatever the method.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(g.Admit("svc", "Get", "a", "h").ok());
  Status st = g.Admit("svc", "Get", "a", "h");
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_NE(st.message().find("caller 'a'"), std::string::npos) << st.message();
  EXPECT_TRUE(g.Admit("svc", "Get", "b", "h").ok());  // another caller, another bucket
  EXPECT_TRUE(g.Admit("svc", "Put", "a", "h").ok());  // "*": each method its own bucket
  // Per method: Echo's 10 shared by every caller.
  int passed = 0;
  for (int i = 0; i < 20; ++i) passed += g.Admit("svc", "Echo", "c" + std::to_string(i), "h").ok();
  EXPECT_EQ(passed, 10);
  // Refill after a second.
  clock.Advance(1s);
  EXPECT_TRUE(g.Admit("svc", "Get", "a", "h").ok());
  // The same rules pushed again keep the buckets (no refill by a push).
  for (int i = 0; i < 2; ++i) (void)g.Admit("svc", "Get", "a", "h");
  g.SetRules("svc", std::make_shared<const ServiceRules>(*rules));
  EXPECT_EQ(g.Admit("svc", "Get", "a", "h").code(), Code::kResourceExhausted);
  EXPECT_GE(g.counters().limited, 3u);
}

TEST(Governor, WarmUpStartsSlow) {
  ManualClock clock;
  ServerGovernor g(clock);
  g.SetRules("svc", std::make_shared<const ServiceRules>(
                        *ParseServiceRules("flow:\n  - {method: Echo, qps: 100, warmup: 5s}\n")));
  int passed = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    passed += g.Admit("svc", "Echo", "", "").ok();
    passed += g.Admit("svc", "Echo", "", "").ok();
    clock.Advance(1ms);
  }
  // Cold: well under the full rate plus its burst (100 + 100) in the first
  // second (RateLimiter's warm-up curve, docs/cluster.md).
  EXPECT_GT(passed, 25);
  EXPECT_LT(passed, 100);
}

TEST(ConfigValues, TypedParsers) {
  EXPECT_EQ(*ParseConfigInt(" 42 "), 42);
  EXPECT_FALSE(ParseConfigInt("4x").ok());
  EXPECT_DOUBLE_EQ(*ParseConfigDouble("0.25"), 0.25);
  EXPECT_TRUE(*ParseConfigBool("Yes"));
  EXPECT_FALSE(*ParseConfigBool("off"));
  EXPECT_FALSE(ParseConfigBool("maybe").ok());
  EXPECT_EQ(*ParseConfigDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseConfigDuration("2s"), 2000ms);
  EXPECT_EQ(*ParseConfigDuration("1.5m"), 90000ms);
  EXPECT_EQ(*ParseConfigDuration("250"), 250ms);
  Result<std::chrono::milliseconds> bad = ParseConfigDuration("soon");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'soon' is not a duration"), std::string::npos);
  EXPECT_TRUE(CheckConfigKey("apps/web/timeout").ok());
  EXPECT_FALSE(CheckConfigKey("apps//x").ok());
  EXPECT_FALSE(CheckConfigKey("../etc").ok());
  EXPECT_FALSE(CheckConfigKey("a b").ok());
}

TEST(ConfigValues, CacheRoundTripAndDamage) {
  rules::ConfigValues v = {{"apps/web/x", "1"}, {"services/s/rules", "a: b\nmulti\nline\n"}, {"empty", ""}};
  auto back = rules::DecodeConfigCache(rules::EncodeConfigCache(v));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, v);
  std::string text = rules::EncodeConfigCache(v);
  auto cut = rules::DecodeConfigCache(text.substr(0, text.size() - 3));
  EXPECT_EQ(cut.status().code(), Code::kDataLoss);
  EXPECT_FALSE(rules::DecodeConfigCache("garbage").ok());
}

}  // namespace
}  // namespace dougong::cluster
