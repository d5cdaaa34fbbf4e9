// ClusterChannel's guards: retry budget, method and provider breakers,
// rate and concurrency limits with the fallback hook, hedging, and
// discovery through zk:// against an in-process keeper.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "cluster_channel_test_util.h"

namespace dougong::cluster::testing {
namespace {

// No breakers and no ejection: tests of other guards count exact attempts.
ClusterChannelOptions Unguarded(ClusterChannelOptions o) {
  o.method_breaker.reset();
  o.provider_breaker.reset();
  o.outlier.reset();
  return o;
}

TEST_F(ClusterChannelTest, RetryBudgetCapsRetries) {
  ClusterChannelOptions o = Unguarded(BaseOptions());
  o.retry_budget.retry_ratio = 0;
  o.retry_budget.min_retries_per_second = 0.5;  // 5 retries per 10 s window
  auto ch = MakeChannel(o);
  FailAll(Code::kUnavailable);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(CallEcho(*ch).status.code(), Code::kUnavailable);
  EXPECT_EQ(TotalCalls(), 10 + 5);
  ClusterChannelStatus s = ch->Snapshot();
  EXPECT_EQ(s.retry_budget.retries, 5u);
  EXPECT_GT(s.retry_budget.refused, 0u);
  EXPECT_EQ(MethodStatus(*ch).retries, 5u);
}

TEST_F(ClusterChannelTest, MethodBreakerOpensAfterErrorsAndRecovers) {
  ManualClock clock;
  ClusterChannelOptions o = Unguarded(BaseOptions());
  o.clock = &clock;
  o.policy.mode = FaultTolerance::kFailfast;
  CircuitBreakerOptions b;
  b.request_volume_threshold = 4;
  b.error_threshold_percent = 50;
  b.sleep_window = 5s;
  o.method_breaker = b;
  auto ch = MakeChannel(o);
  FailAll(Code::kInternal);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(CallEcho(*ch).status.code(), Code::kInternal);
  ASSERT_TRUE(MethodStatus(*ch).breaker.has_value());
  EXPECT_EQ(MethodStatus(*ch).breaker->state, BreakerState::kOpen);

  // Open: refused here, the providers see nothing.
  EchoReply r = CallEcho(*ch);
  EXPECT_EQ(r.status.code(), Code::kUnavailable);
  EXPECT_EQ(TotalCalls(), 4);
  EXPECT_EQ(MethodStatus(*ch).short_circuited, 1u);

  // After the sleep window one trial goes through; it succeeds and closes.
  FailAll(Code::kOk);
  clock.Advance(6s);
  EXPECT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_EQ(MethodStatus(*ch).breaker->state, BreakerState::kClosed);
  EXPECT_TRUE(CallEcho(*ch).status.ok());
}

TEST_F(ClusterChannelTest, ProviderBreakerTakesAFailingProviderOutAndBack) {
  ManualClock clock;
  ClusterChannelOptions o = Unguarded(BaseOptions());
  o.clock = &clock;
  o.load_balancer = "roundrobin";
  CircuitBreakerOptions b;
  b.request_volume_threshold = 3;
  b.sleep_window = 5s;
  o.provider_breaker = b;
  auto ch = MakeChannel(o);
  P(0).service.fail_code = static_cast<int>(Code::kUnavailable);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());  // failover hides it
  EXPECT_EQ(P(0).service.calls.load(), 3);  // then its breaker opened
  ClusterChannelStatus s = ch->Snapshot();
  ASSERT_TRUE(s.providers[0].breaker.has_value());
  EXPECT_EQ(s.providers[0].breaker->state, BreakerState::kOpen);

  P(0).service.fail_code = 0;
  clock.Advance(6s);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_GT(P(0).service.calls.load(), 3);
  EXPECT_EQ(ch->Snapshot().providers[0].breaker->state, BreakerState::kClosed);
}

TEST_F(ClusterChannelTest, OutlierEjectionSkipsAFailingProvider) {
  ClusterChannelOptions o = Unguarded(BaseOptions());
  o.load_balancer = "roundrobin";
  OutlierDetectorOptions d;
  d.consecutive_failures = 2;
  d.max_ejection_percent = 50;
  o.outlier = d;
  auto ch = MakeChannel(o);
  P(2).service.fail_code = static_cast<int>(Code::kUnavailable);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_EQ(P(2).service.calls.load(), 2);
  EXPECT_TRUE(ch->Snapshot().providers[2].ejected);
}

TEST_F(ClusterChannelTest, RateLimitAnswersResourceExhaustedAtOnce) {
  ManualClock clock;  // frozen: the bucket never refills
  ClusterChannelOptions o = BaseOptions();
  o.clock = &clock;
  o.policy.rate_limit_qps = 1;
  o.policy.rate_limit_burst = 2;
  auto ch = MakeChannel(o);
  EXPECT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_TRUE(CallEcho(*ch).status.ok());
  EchoReply r = CallEcho(*ch);
  EXPECT_EQ(r.status.code(), Code::kResourceExhausted);
  EXPECT_LT(r.took, 500ms);
  EXPECT_EQ(TotalCalls(), 2);
  EXPECT_EQ(MethodStatus(*ch).rejected, 1u);
}

TEST_F(ClusterChannelTest, FallbackRunsOnRejectionTimeoutAndOpenBreaker) {
  ManualClock clock;
  ClusterChannelOptions o = Unguarded(BaseOptions());
  o.clock = &clock;
  o.policy.max_concurrency = 1;
  std::atomic<int> fallbacks{0};
  o.fallback = [&](const rpc::MethodSpec&, const google::protobuf::Message&, google::protobuf::Message* response,
                   const Status& cause) {
    ++fallbacks;
    static_cast<example::EchoResponse*>(response)->set_message("fallback:" + std::string(CodeName(cause.code())));
    return Status();
  };
  // One timed-out call opens it (the rejected and the cancelled calls never
  // count: neither says anything about the providers).
  CircuitBreakerOptions b;
  b.request_volume_threshold = 1;
  o.method_breaker = b;
  auto ch = MakeChannel(o);
  DelayAll(3000);

  // Rejected: one call is in flight already.
  rpc::ClientContext slow_ctx;
  example::EchoRequest req;
  example::EchoResponse slow_resp;
  std::atomic<bool> slow_done{false};
  ch->CallMethod(kEcho, &slow_ctx, req, &slow_resp, [&](Status) { slow_done = true; });
  ASSERT_TRUE(WaitUntil([&] { return TotalCalls() == 1; }));
  EchoReply r = CallEcho(*ch);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.from, "fallback:RESOURCE_EXHAUSTED");
  slow_ctx.Cancel();
  ASSERT_TRUE(WaitUntil([&] { return slow_done.load(); }));

  // Times out, which opens the breaker.
  r = CallEcho(*ch, kEcho, 100ms);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.from, "fallback:DEADLINE_EXCEEDED");

  // Breaker open.
  r = CallEcho(*ch);
  EXPECT_EQ(r.from, "fallback:UNAVAILABLE");
  EXPECT_EQ(fallbacks.load(), 3);
  EXPECT_EQ(MethodStatus(*ch).fallbacks, 3u);
}

TEST_F(ClusterChannelTest, HedgingSendsABackupAfterTheDelay) {
  ClusterChannelOptions o = Unguarded(BaseOptions());
  o.load_balancer = "roundrobin";  // the first pick is the first address
  o.idempotent_methods = {"Echo"};
  o.policy.hedge_delay = 50ms;
  auto ch = MakeChannel(o);
  P(0).service.delay_ms = 5000;
  EchoReply r = CallEcho(*ch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_NE(r.from, P(0).service.name());
  EXPECT_LT(r.took, 2s);
  EXPECT_EQ(MethodStatus(*ch).hedges, 1u);
  EXPECT_TRUE(WaitUntil([&] { return P(0).service.cancelled == 1; }));

  // A method that is not idempotent is never hedged.
  o.idempotent_methods.clear();
  o.policy.attempt_timeout = 300ms;
  auto plain = MakeChannel(o);
  r = CallEcho(*plain);
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(MethodStatus(*plain).hedges, 0u);
}

// Providers registered in a keeper started in this process.
class ClusterChannelZk : public ClusterChannelTest {
 protected:
  void SetUp() override {
    ClusterChannelTest::SetUp();
    keeper_.Start("dougong_cluster_channel_zk_");
    url_ = keeper_.url();
  }
  void TearDown() override { keeper_.Stop(); }

  TestKeeper keeper_;
  std::string url_;
};

TEST_F(ClusterChannelZk, DiscoversProvidersAndFollowsTheRegistry) {
  std::vector<std::shared_ptr<Registry>> registries;
  for (size_t i = 0; i < 3; ++i) {
    auto reg = Registry::FromUrl(url_);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    ProviderRegistration r;
    r.service = kEchoService;
    r.provider.address = P(i).address();
    r.provider.warmup_ms = 0;  // equal weights at once, for exact round robin
    r.methods = {"Echo"};
    ASSERT_TRUE((*reg)->Register(r).ok());
    registries.push_back(*reg);
  }
  ClusterChannelOptions o = BaseOptions();
  o.load_balancer = "roundrobin";
  auto ch = MakeChannel(o, url_);
  ASSERT_TRUE(ch->WaitForProviders(3, 10s));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(P(i).service.calls.load(), 2);

  // Deregistered: no more traffic, and its channel is dropped.
  ASSERT_TRUE(registries[0]->Deregister(kEchoService, P(0).address()).ok());
  ASSERT_TRUE(WaitUntil([&] { return ch->providers()->size() == 2; }));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_EQ(P(0).service.calls.load(), 2);
  EXPECT_EQ(P(1).service.calls + P(2).service.calls, 10);
}

}  // namespace
}  // namespace dougong::cluster::testing
