// The config center and the live rules against a keeper started in this
// process and against Apache ZooKeeper 3.8 started by the test, each on a
// free loopback port: push latency to two instances, the cache
// file at a start without the registry, an outage that keeps the values,
// bad rules refused with the last good ones kept, and a cluster channel and
// a server governor following rule changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster_channel_test_util.h"
#include "dougong/cluster/config_center.h"
#include "dougong/cluster/server_governor.h"
#include "dougong/keeper/server.h"
#include "naming_test_util.h"

namespace dougong::cluster {
namespace {

using namespace std::chrono_literals;
using testing::WaitUntil;

// What a watch received, for tests to wait on.
class ValueLog {
 public:
  ConfigListener Listener() {
    return [this](const std::optional<std::string>& v) {
      std::lock_guard lock(mu_);
      values_.push_back(v);
      cv_.notify_all();
    };
  }
  bool WaitFor(const std::optional<std::string>& want, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return !values_.empty() && values_.back() == want; });
  }
  std::vector<std::optional<std::string>> values() {
    std::lock_guard lock(mu_);
    return values_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<std::string>> values_;
};

// Every case runs against keeper and against Apache ZooKeeper 3.8
// (registry_server.h), as `.../keeper` and `.../zookeeper`.
class ConfigCenterZk : public ::testing::TestWithParam<testing::RegistryKind> {
 protected:
  void SetUp() override {
    base_ = testing::FreshTestDir("dougong_config_zk_");
    server_ = testing::RegistryServer::Create(GetParam(), base_);
    StartRegistry(0);
    url_ = "zk://127.0.0.1:" + std::to_string(port_) + "/dougong-test?session_timeout_ms=2000";
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(base_);
  }

  void StartRegistry(int port, const std::string& data = "data") {
    server_->Start(data, port);
    ASSERT_TRUE(server_->running()) << "the registry did not start";
    port_ = server_->port();
  }

  std::shared_ptr<ConfigCenter> NewCenter(const std::string& cache = "") {
    ConfigCenterOptions o;
    o.cache_file = cache;
    auto cc = ConfigCenter::Create(url_, o);
    EXPECT_TRUE(cc.ok()) << cc.status().ToString();
    return cc.ok() ? *cc : nullptr;
  }

  std::filesystem::path base_;
  std::unique_ptr<testing::RegistryServer> server_;
  int port_ = 0;
  std::string url_;
};

TEST_P(ConfigCenterZk, AChangeReachesTwoProcessesWithinASecond) {
  auto writer = NewCenter();
  auto a = NewCenter();
  auto b = NewCenter();
  ValueLog la, lb;
  ASSERT_TRUE(a->Watch("apps/demo/flag", la.Listener()).ok());
  ASSERT_TRUE(b->Watch("apps/demo/flag", lb.Listener()).ok());
  ASSERT_TRUE(la.WaitFor(std::nullopt));  // known not to exist
  ASSERT_TRUE(lb.WaitFor(std::nullopt));
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    std::string v = "v" + std::to_string(i);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(writer->Set("apps/demo/flag", v).ok());
    ASSERT_TRUE(la.WaitFor(v, 1s)) << "push " << i << " did not reach a within 1 s";
    ASSERT_TRUE(lb.WaitFor(v, 1s)) << "push " << i << " did not reach b within 1 s";
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("config push, set -> both watchers (20 changes): median %.2f ms, max %.2f ms\n", ms[ms.size() / 2],
              ms.back());
  EXPECT_LT(ms.back(), 1000);
  EXPECT_EQ(*a->Get("apps/demo/flag"), "v19");
  ASSERT_TRUE(writer->Delete("apps/demo/flag").ok());
  EXPECT_TRUE(la.WaitFor(std::nullopt, 1s));
  EXPECT_EQ(a->Get("apps/demo/flag").status().code(), Code::kNotFound);
  EXPECT_EQ(writer->Delete("apps/demo/flag").code(), Code::kNotFound);
}

TEST_P(ConfigCenterZk, TypedGettersListAndErrors) {
  auto cc = NewCenter();
  ASSERT_TRUE(cc->Set("apps/web/timeout", "500ms").ok());
  ASSERT_TRUE(cc->Set("apps/web/retries", "3").ok());
  ASSERT_TRUE(cc->Set("apps/web/ratio", "0.25").ok());
  ASSERT_TRUE(cc->Set("apps/web/debug", "on").ok());
  EXPECT_EQ(*cc->GetDuration("apps/web/timeout"), 500ms);
  EXPECT_EQ(*cc->GetInt64("apps/web/retries"), 3);
  EXPECT_DOUBLE_EQ(*cc->GetDouble("apps/web/ratio"), 0.25);
  EXPECT_TRUE(*cc->GetBool("apps/web/debug"));
  Result<int64_t> bad = cc->GetInt64("apps/web/timeout");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("apps/web/timeout: '500ms' is not an integer"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(cc->GetInt64("apps/web/missing").status().code(), Code::kNotFound);
  EXPECT_EQ(cc->Get("apps/../x").status().code(), Code::kInvalidArgument);
  auto keys = cc->List("apps");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"apps/web/debug", "apps/web/ratio", "apps/web/retries",
                                             "apps/web/timeout"}));
  EXPECT_FALSE(ConfigCenter::Create("list://a:1").ok());
}

TEST_P(ConfigCenterZk, TheCacheServesWhenTheRegistryIsDownAtStart) {
  std::string cache = (base_ / "config.cache").string();
  {
    auto cc = NewCenter(cache);
    ASSERT_TRUE(cc->Set("apps/web/timeout", "2s").ok());
    ASSERT_TRUE(cc->Set("services/svc/rules", "weights: []\n").ok());
    ValueLog log;
    ASSERT_TRUE(cc->Watch("apps/web/timeout", log.Listener()).ok());
    ASSERT_TRUE(log.WaitFor("2s"));
    EXPECT_EQ(*cc->Get("services/svc/rules"), "weights: []\n");
  }
  ASSERT_TRUE(std::filesystem::exists(cache));
  server_->Stop();
  auto start = std::chrono::steady_clock::now();
  auto cc = NewCenter(cache);
  ASSERT_TRUE(cc);
  EXPECT_EQ(*cc->GetDuration("apps/web/timeout"), 2000ms);
  ValueLog log;
  ASSERT_TRUE(cc->Watch("services/svc/rules", log.Listener()).ok());
  EXPECT_EQ(log.values(), (std::vector<std::optional<std::string>>{"weights: []\n"}));  // at once
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // A key the cache does not know cannot be answered.
  EXPECT_EQ(cc->Get("apps/web/other").status().code(), Code::kUnavailable);
}

TEST_P(ConfigCenterZk, AnOutageKeepsTheValuesAndAReconnectResyncs) {
  auto cc = NewCenter((base_ / "c.cache").string());
  ValueLog log;
  ASSERT_TRUE(cc->Set("apps/web/mode", "blue").ok());
  ASSERT_TRUE(cc->Watch("apps/web/mode", log.Listener()).ok());
  ASSERT_TRUE(log.WaitFor("blue"));
  server_->Stop();
  // Past the session timeout (2 s): the session is lost, nothing delivered.
  std::this_thread::sleep_for(2500ms);
  Result<std::string> mode = cc->Get("apps/web/mode");
  ASSERT_TRUE(mode.ok()) << mode.status().ToString();
  EXPECT_EQ(*mode, "blue");
  EXPECT_EQ(log.values().back(), "blue");
  for (const auto& v : log.values()) EXPECT_TRUE(v.has_value());
  StartRegistry(port_);  // same port, same data
  auto writer = NewCenter();
  ASSERT_TRUE(writer->Set("apps/web/mode", "green").ok());
  EXPECT_TRUE(log.WaitFor("green", 10s));
}

TEST_P(ConfigCenterZk, ARegistryThatLostItsDataDeletesNothing) {
  auto cc = NewCenter();
  ValueLog log;
  ASSERT_TRUE(cc->Set("apps/web/mode", "blue").ok());
  ASSERT_TRUE(cc->Watch("apps/web/mode", log.Listener()).ok());
  ASSERT_TRUE(log.WaitFor("blue"));
  server_->Stop();
  StartRegistry(port_, "empty");  // same port, no data: no ROOT/config at all
  // The client, refused for having seen newer zxids, starts a new session;
  // a new key is then known as absent.
  ASSERT_TRUE(WaitUntil([&] { return cc->Get("apps/web/new").status().code() == Code::kNotFound; }, 20s));
  std::this_thread::sleep_for(300ms);  // the full re-read that follows a new session
  Result<std::string> mode = cc->Get("apps/web/mode");
  ASSERT_TRUE(mode.ok()) << mode.status().ToString();
  EXPECT_EQ(*mode, "blue");
  for (const auto& v : log.values()) EXPECT_TRUE(v.has_value());
}

constexpr char kGoodRules[] = "access:\n  blacklist: {apps: [crawler]}\n";
constexpr char kBadRules[] = "access:\n  blacklist: {apps: [crawler]\n";  // unclosed flow map

TEST_P(ConfigCenterZk, BadRulesAreRefusedAndTheLastGoodOnesStay) {
  auto cc = NewCenter();
  ServerGovernor governor;
  ASSERT_TRUE(governor.Govern(cc, "svc").ok());
  EXPECT_TRUE(governor.Admit("svc", "Get", "crawler", "10.0.0.1").ok());
  ASSERT_TRUE(cc->Set(ServiceRulesKey("svc"), kGoodRules).ok());
  ASSERT_TRUE(WaitUntil([&] { return governor.Admit("svc", "Get", "crawler", "h").code() == Code::kPermissionDenied; }));
  ASSERT_TRUE(cc->Set(ServiceRulesKey("svc"), kBadRules).ok());
  ASSERT_TRUE(WaitUntil([&] { return governor.counters().rules_rejected == 1; }));
  EXPECT_EQ(governor.Admit("svc", "Get", "crawler", "h").code(), Code::kPermissionDenied);
  EXPECT_TRUE(governor.Admit("svc", "Get", "web", "h").ok());
  // Per-caller limit, live.
  ASSERT_TRUE(cc->Set(ServiceRulesKey("svc"), "flow:\n  - {method: Get, per_caller: true, qps: 1, burst: 2}\n").ok());
  ASSERT_TRUE(WaitUntil([&] { return governor.Admit("svc", "Get", "crawler", "h").ok(); }));
  (void)governor.Admit("svc", "Get", "crawler", "h");
  EXPECT_EQ(governor.Admit("svc", "Get", "crawler", "h").code(), Code::kResourceExhausted);
  EXPECT_TRUE(governor.Admit("svc", "Get", "web", "h").ok());
  ASSERT_TRUE(cc->Delete(ServiceRulesKey("svc")).ok());
  ASSERT_TRUE(WaitUntil([&] { return governor.Admit("svc", "Get", "crawler", "h").ok(); }));
}

// A cluster channel over three echo providers (list://) with its rules in the registry (keeper or ZooKeeper).
class RulesChannelZk : public ConfigCenterZk {
 protected:
  void SetUp() override {
    ConfigCenterZk::SetUp();
    for (int i = 0; i < 3; ++i) {
      providers_.push_back(std::make_unique<testing::TestProvider>("p" + std::to_string(i)));
      providers_.back()->Start();
    }
    std::sort(providers_.begin(), providers_.end(),
              [](const auto& a, const auto& b) { return a->address() < b->address(); });
  }
  std::string ListUrl() const {
    std::string url = "list://";
    for (size_t i = 0; i < providers_.size(); ++i) url += (i ? "," : "") + providers_[i]->address();
    return url;
  }
  // Who answered `n` calls.
  std::map<std::string, int> Spread(ClusterChannel& ch, int n) {
    std::map<std::string, int> from;
    for (int i = 0; i < n; ++i) {
      testing::EchoReply r = testing::CallEcho(ch);
      ++from[r.status.ok() ? r.from : std::string(CodeName(r.status.code()))];
    }
    std::string text;
    for (const auto& [who, k] : from) text += who + "=" + std::to_string(k) + " ";
    std::printf("spread: %s\n", text.c_str());
    return from;
  }
  std::vector<std::unique_ptr<testing::TestProvider>> providers_;
};

TEST_P(RulesChannelZk, AChannelFollowsRuleChangesLive) {
  auto cc = NewCenter();
  ClusterChannelOptions o;
  o.load_balancer = "roundrobin";
  o.application = "web";
  o.config_center = cc;
  auto ch = ClusterChannel::Create(ListUrl(), testing::kEchoService, o);
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  ASSERT_TRUE((*ch)->WaitForProviders(3, 5s));
  // Names of the providers in address order (the order of a ProviderSet).
  const std::string n0 = providers_[0]->service.name(), n1 = providers_[1]->service.name(),
                    n2 = providers_[2]->service.name();
  const std::map<std::string, int> even = {{n0, 10}, {n1, 10}, {n2, 10}};
  EXPECT_EQ(Spread(**ch, 30), even);
  const std::string key = ServiceRulesKey(testing::kEchoService);
  // A condition rule takes the second provider out for this caller.
  ASSERT_TRUE(cc->Set(key, "condition_route:\n  conditions: [\"caller = web => address != " +
                               providers_[1]->address() + "\"]\n")
                  .ok());
  ASSERT_TRUE(WaitUntil([&] { return (*ch)->rules() != nullptr; }));
  int before = providers_[1]->service.calls.load();
  EXPECT_EQ(Spread(**ch, 30), (std::map<std::string, int>{{n0, 15}, {n2, 15}}));
  EXPECT_EQ(providers_[1]->service.calls.load(), before);
  // A weight override drains the first.
  ASSERT_TRUE(cc->Set(key, "weights:\n  - {address: " + providers_[0]->address() + ", weight: 0}\n").ok());
  ASSERT_TRUE(WaitUntil([&] { return (*(*ch)->providers())[0].weight == 0; }));
  EXPECT_EQ(Spread(**ch, 20), (std::map<std::string, int>{{n1, 10}, {n2, 10}}));
  // A forced rule that leaves nobody: UNAVAILABLE naming it.
  ASSERT_TRUE(cc->Set(key, "condition_route:\n  force: true\n  conditions: [\"method = Echo => zone = mars\"]\n").ok());
  ASSERT_TRUE(WaitUntil([&] { return !testing::CallEcho(**ch).status.ok(); }));
  testing::EchoReply r = testing::CallEcho(**ch);
  EXPECT_EQ(r.status.code(), Code::kUnavailable);
  EXPECT_NE(r.status.message().find("zone = mars"), std::string::npos) << r.status.message();
  // Consumer-side limit from the rules: rate 1/s, burst 1.
  ASSERT_TRUE(cc->Set(key, "flow:\n  - {method: Echo, qps: 1, burst: 1, side: consumer}\n").ok());
  ASSERT_TRUE(WaitUntil([&] { return testing::CallEcho(**ch).status.code() == Code::kResourceExhausted; }));
  // Rules deleted: back to every provider, no limit.
  ASSERT_TRUE(cc->Delete(key).ok());
  ASSERT_TRUE(WaitUntil([&] { return (*ch)->rules() == nullptr; }));
  // (The round-robin counters start where the limited calls left them.)
  std::map<std::string, int> spread = Spread(**ch, 30);
  EXPECT_EQ(spread.size(), 3u);
  for (const auto& [who, n] : spread) EXPECT_GE(n, 9) << who;
}

TEST_P(ConfigCenterZk, TheAdmissionHookSeesTheCallersApplication) {
  auto cc = NewCenter();
  ServerGovernor governor;
  ASSERT_TRUE(governor.Govern(cc, testing::kEchoService).ok());
  testing::FaultyEcho echo("p");
  rpc::ServerOptions so;
  so.io_threads = 1;
  so.enable_reflection = false;
  rpc::Server server(so);
  ASSERT_TRUE(server.AddService(&echo).ok());
  ASSERT_TRUE(server.AddAdmissionHook(governor.AdmissionHook()).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  auto channel_of = [&](const std::string& app) {
    ClusterChannelOptions o;
    o.application = app;
    auto ch = ClusterChannel::Create("list://127.0.0.1:" + std::to_string(server.port()), testing::kEchoService, o);
    EXPECT_TRUE(ch.ok()) << ch.status().ToString();
    return *ch;
  };
  auto web = channel_of("web");
  auto crawler = channel_of("crawler");
  EXPECT_TRUE(testing::CallEcho(*crawler).status.ok());  // no rules yet
  ASSERT_TRUE(cc->Set(ServiceRulesKey(testing::kEchoService), R"(
access:
  blacklist: {apps: [crawler]}
flow:
  - {method: Echo, per_caller: true, qps: 1, burst: 2}
)").ok());
  ASSERT_TRUE(WaitUntil([&] { return testing::CallEcho(*crawler).status.code() == Code::kPermissionDenied; }));
  testing::EchoReply denied = testing::CallEcho(*crawler);
  EXPECT_EQ(denied.status.code(), Code::kPermissionDenied);
  EXPECT_NE(denied.status.message().find("caller 'crawler' (host 127.0.0.1) is on the blacklist"), std::string::npos)
      << denied.status.message();
  // web: two calls from its bucket, then RESOURCE_EXHAUSTED at once.
  int ok = 0;
  Status last;
  for (int i = 0; i < 4; ++i) {
    testing::EchoReply r = testing::CallEcho(*web);
    ok += r.status.ok();
    last = r.status;
  }
  EXPECT_LE(ok, 3);  // 2, or 3 if a second passed meanwhile
  EXPECT_EQ(last.code(), Code::kResourceExhausted) << last.ToString();
  EXPECT_GE(governor.counters().denied, 1u);
  server.Stop(0ms);
}

INSTANTIATE_TEST_SUITE_P(Registries, ConfigCenterZk, ::testing::ValuesIn(testing::kRegistryKinds),
                         testing::RegistryParamName);
INSTANTIATE_TEST_SUITE_P(Registries, RulesChannelZk, ::testing::ValuesIn(testing::kRegistryKinds),
                         testing::RegistryParamName);

}  // namespace
}  // namespace dougong::cluster
