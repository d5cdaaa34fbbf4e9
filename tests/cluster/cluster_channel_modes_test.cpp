// The fault-tolerance modes of ClusterChannel against three echo providers
// on loopback (list://), with faults injected in the providers.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "cluster_channel_test_util.h"

namespace dougong::cluster::testing {
namespace {

ClusterChannelOptions WithMode(ClusterChannelOptions o, FaultTolerance mode) {
  o.policy.mode = mode;
  return o;
}

TEST(FaultToleranceNames, RoundTrip) {
  for (auto m : {FaultTolerance::kFailover, FaultTolerance::kFailfast, FaultTolerance::kFailsafe,
                 FaultTolerance::kFailback, FaultTolerance::kForking, FaultTolerance::kBroadcast,
                 FaultTolerance::kAvailable}) {
    auto parsed = ParseFaultTolerance(FaultToleranceName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_FALSE(ParseFaultTolerance("failsometimes").ok());
}

TEST_F(ClusterChannelTest, OptionsAreValidated) {
  ClusterChannelOptions o = BaseOptions();
  o.load_balancer = "nosuch";
  EXPECT_EQ(ClusterChannel::Create(ListUrl(), kEchoService, o).status().code(), Code::kInvalidArgument);
  o = BaseOptions();
  o.method_policies["Echo"].forks = 0;
  EXPECT_EQ(ClusterChannel::Create(ListUrl(), kEchoService, o).status().code(), Code::kInvalidArgument);
}

TEST_F(ClusterChannelTest, SpreadsCallsOverEveryProvider) {
  ClusterChannelOptions o = BaseOptions();
  o.load_balancer = "roundrobin";
  auto ch = MakeChannel(o);
  std::set<std::string> seen;
  for (int i = 0; i < 9; ++i) {
    EchoReply r = CallEcho(*ch);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    seen.insert(r.from);
  }
  EXPECT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(P(i).service.calls.load(), 3);
  ClusterChannelStatus s = ch->Snapshot();
  ASSERT_EQ(s.providers.size(), 3u);
  EXPECT_EQ(MethodStatus(*ch).calls, 9u);
  EXPECT_NE(FormatClusterStatus(s).find(P(0).address()), std::string::npos);
}

TEST_F(ClusterChannelTest, FailoverHidesAProviderStoppedMidTraffic) {
  ClusterChannelOptions o = BaseOptions();
  o.load_balancer = "roundrobin";
  auto ch = MakeChannel(o);
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        EchoReply r = CallEcho(*ch);
        (r.status.ok() ? ok : failed)++;
        if (!r.status.ok()) ADD_FAILURE() << r.status.ToString();
      }
    });
  ASSERT_TRUE(WaitUntil([&] { return ok.load() >= 20; }));
  P(1).Stop();
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 120);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(MethodStatus(*ch).retries, 0u);
}

TEST_F(ClusterChannelTest, FailoverNeverTriesTheSameProviderTwice) {
  ClusterChannelOptions o = BaseOptions();
  o.policy.retries = 5;  // more than the other providers
  auto ch = MakeChannel(o);
  FailAll(Code::kUnavailable);
  EchoReply r = CallEcho(*ch);
  EXPECT_EQ(r.status.code(), Code::kUnavailable);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(P(i).service.calls.load(), 1) << "provider " << i;
}

TEST_F(ClusterChannelTest, FailoverRetriesTwiceByDefault) {
  ClusterChannelOptions o = BaseOptions();
  auto ch = MakeChannel(o);
  FailAll(Code::kUnavailable);
  P(2).service.fail_code = 0;
  // Whatever the order, three distinct attempts reach the healthy one.
  for (int i = 0; i < 5; ++i) {
    EchoReply r = CallEcho(*ch);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.from, P(2).service.name());
  }
}

TEST_F(ClusterChannelTest, NonIdempotentMethodsAreNotRetriedOnDeadlineExceeded) {
  ClusterChannelOptions o = BaseOptions();
  o.policy.attempt_timeout = 100ms;
  auto ch = MakeChannel(o);
  DelayAll(2000);
  EchoReply r = CallEcho(*ch, kEcho, 3s);
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(TotalCalls(), 1);

  // The same method marked idempotent is retried, and reaches the fast one.
  P(1).service.delay_ms = 0;
  r = CallEcho(*ch, kEchoIdempotent, 3s);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.from, P(1).service.name());
}

TEST_F(ClusterChannelTest, RetriesNeverExtendTheCallersDeadline) {
  ClusterChannelOptions o = BaseOptions();
  o.idempotent_methods = {"Echo"};
  o.policy.attempt_timeout = 150ms;
  auto ch = MakeChannel(o);
  DelayAll(2000);
  EchoReply r = CallEcho(*ch, kEcho, 200ms);
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded);
  EXPECT_LT(r.took, 1s);
  EXPECT_LE(TotalCalls(), 2);  // 150 ms, then the 50 ms left
}

TEST_F(ClusterChannelTest, FailfastSurfacesTheFirstError) {
  auto ch = MakeChannel(WithMode(BaseOptions(), FaultTolerance::kFailfast));
  FailAll(Code::kUnavailable);
  EchoReply r = CallEcho(*ch);
  EXPECT_EQ(r.status.code(), Code::kUnavailable);
  EXPECT_EQ(TotalCalls(), 1);
}

TEST_F(ClusterChannelTest, FailsafeReturnsAnEmptyOkAndCountsIt) {
  auto ch = MakeChannel(WithMode(BaseOptions(), FaultTolerance::kFailsafe));
  FailAll(Code::kInternal);
  EchoReply r = CallEcho(*ch);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.from, "");
  EXPECT_EQ(TotalCalls(), 1);
  EXPECT_EQ(MethodStatus(*ch).failsafe_swallowed, 1u);
}

TEST_F(ClusterChannelTest, FailbackRetriesInTheBackgroundUntilTheProviderIsBack) {
  ClusterChannelOptions o = WithMode(BaseOptions(), FaultTolerance::kFailback);
  o.policy.failback_interval = 100ms;
  o.policy.failback_retries = 50;
  o.outlier.reset();
  auto ch = MakeChannel(o, "list://" + P(0).address());
  P(0).Stop();
  EchoReply r = CallEcho(*ch);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.from, "");
  EXPECT_EQ(MethodStatus(*ch).failback_queued, 1u);
  EXPECT_EQ(ch->Snapshot().failback_pending, 1u);

  // Background retries fail while the provider is down...
  ASSERT_TRUE(WaitUntil([&] { return ch->Snapshot().failback_retries_failed >= 2; }));
  P(0).Restart();
  ASSERT_TRUE(WaitUntil([&] { return ch->Snapshot().failback_succeeded == 1; }));
  EXPECT_EQ(P(0).service.calls.load(), 1);
  EXPECT_EQ(ch->Snapshot().failback_pending, 0u);
}

TEST_F(ClusterChannelTest, FailbackReturnsErrorsThatAreNotRetryable) {
  auto ch = MakeChannel(WithMode(BaseOptions(), FaultTolerance::kFailback));
  FailAll(Code::kInvalidArgument);
  EXPECT_EQ(CallEcho(*ch).status.code(), Code::kInvalidArgument);
  EXPECT_EQ(ch->Snapshot().failback_pending, 0u);
}

TEST_F(ClusterChannelTest, ForkingReturnsTheFastOneAndCancelsTheSlow) {
  ClusterChannelOptions o = WithMode(BaseOptions(), FaultTolerance::kForking);
  o.policy.forks = 3;
  auto ch = MakeChannel(o);
  P(0).service.delay_ms = 5000;
  P(1).service.delay_ms = 5000;
  // The fast one takes a little time too, so every fork reaches its provider
  // before the losers are cancelled (a loser cancelled before it was sent
  // never shows up at a provider at all).
  P(2).service.delay_ms = 200;
  EchoReply r = CallEcho(*ch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.from, P(2).service.name());
  EXPECT_LT(r.took, 2s);
  EXPECT_EQ(TotalCalls(), 3);
  EXPECT_TRUE(WaitUntil([&] { return P(0).service.cancelled == 1 && P(1).service.cancelled == 1; }));
}

TEST_F(ClusterChannelTest, BroadcastCallsAllAndFailsIfOneFails) {
  auto ch = MakeChannel(WithMode(BaseOptions(), FaultTolerance::kBroadcast));
  EchoReply r = CallEcho(*ch);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(P(i).service.calls.load(), 1);

  P(1).service.fail_code = static_cast<int>(Code::kInternal);
  r = CallEcho(*ch);
  EXPECT_EQ(r.status.code(), Code::kInternal);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(P(i).service.calls.load(), 2);
}

TEST_F(ClusterChannelTest, AvailablePicksTheFirstProviderThatIsUp) {
  ClusterChannelOptions o = WithMode(BaseOptions(), FaultTolerance::kAvailable);
  auto ch = MakeChannel(o);
  EXPECT_EQ(CallEcho(*ch).from, P(0).service.name());
  P(0).Stop();
  for (int i = 0; i < 5; ++i) {
    EchoReply r = CallEcho(*ch);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.from, P(1).service.name());
  }
  EXPECT_EQ(P(2).service.calls.load(), 0);
}

TEST_F(ClusterChannelTest, CallerCancellationCancelsTheAttempts) {
  ClusterChannelOptions o = WithMode(BaseOptions(), FaultTolerance::kForking);
  o.policy.forks = 2;
  auto ch = MakeChannel(o);
  DelayAll(5000);
  rpc::ClientContext ctx;
  example::EchoRequest req;
  example::EchoResponse resp;
  std::atomic<int> code{-1};
  ch->CallMethod(kEcho, &ctx, req, &resp, [&](Status st) { code = static_cast<int>(st.code()); });
  ASSERT_TRUE(WaitUntil([&] { return TotalCalls() == 2; }));
  ctx.Cancel();
  ASSERT_TRUE(WaitUntil([&] { return code.load() != -1; }));
  EXPECT_EQ(code.load(), static_cast<int>(Code::kCancelled));
  int cancelled = 0;
  EXPECT_TRUE(WaitUntil([&] {
    cancelled = 0;
    for (size_t i = 0; i < 3; ++i) cancelled += P(i).service.cancelled;
    return cancelled == 2;
  }));
}

}  // namespace
}  // namespace dougong::cluster::testing
