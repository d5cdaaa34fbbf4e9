// The cluster layer on the rpc server's hooks: a server published in a
// keeper by ServerPublisher (appears after Start, disappears at the start of
// Stop, before its calls in flight drain), a cluster channel that prefers an
// in-process server and falls back to the providers when it stops, and the
// channel's section on the servers' /status and /metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "cluster_channel_test_util.h"
#include "dougong/cluster/server_publisher.h"

namespace dougong::cluster::testing {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class ServerPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override { keeper_.Start("dougong_publisher_"); }
  void TearDown() override { keeper_.Stop(); }
  TestKeeper keeper_;
};

TEST_F(ServerPublisherTest, RegistersOnceServingAndLeavesBeforeTheDrain) {
  FaultyEcho echo("local");
  rpc::ServerOptions so;
  so.io_threads = 1;
  so.worker_threads = 1;
  auto server = std::make_unique<rpc::Server>(so);
  ASSERT_TRUE(server->AddService(&echo).ok());
  PublishOptions p;
  p.weight = 50;
  p.zone = "az1";
  p.version = "1.2";
  p.tags = {{"env", "test"}};
  p.warmup_ms = 0;
  auto publisher = ServerPublisher::Attach(*server, keeper_.url(), p);
  ASSERT_TRUE(publisher.ok()) << publisher.status().ToString();
  EXPECT_TRUE((*publisher)->published().empty());

  ClusterChannelOptions o;
  o.channel.connect_timeout = 500ms;
  o.policy.mode = FaultTolerance::kFailfast;
  auto consumer = ClusterChannel::Create(keeper_.url(), kEchoService, o);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto& ch = **consumer;

  ASSERT_TRUE(server->Start("127.0.0.1:0").ok());
  // Registered by the time Start returns.
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ((*publisher)->published(), std::vector<std::string>{kEchoService});
  EXPECT_EQ((*publisher)->address(), address);
  ASSERT_TRUE(ch.WaitForProviders(1, 10s));
  ProviderSetPtr set = ch.providers();
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ((*set)[0].address, address);
  EXPECT_EQ((*set)[0].weight, 50);
  EXPECT_EQ((*set)[0].zone, "az1");
  EXPECT_EQ((*set)[0].version, "1.2");
  EXPECT_EQ((*set)[0].tags.at("env"), "test");
  EXPECT_TRUE(CallEcho(ch).status.ok());

  // A call in flight when the server stops: it drains (answered), and the
  // consumer has dropped the provider before that.
  echo.delay_ms = 800;
  auto in_flight = std::async(std::launch::async, [&] {
    EchoReply r = CallEcho(ch, kEcho, 10s);
    return std::make_pair(r, Clock::now());
  });
  ASSERT_TRUE(WaitUntil([&] { return echo.calls.load() == 2; }));
  Clock::time_point stop_at = Clock::now();
  auto stopper = std::async(std::launch::async, [&] {
    server->Stop(5s);
    return Clock::now();
  });
  ASSERT_TRUE(WaitUntil([&] { return ch.providers()->empty(); }, 5s));
  Clock::time_point removed_at = Clock::now();
  auto [reply, answered_at] = in_flight.get();
  Clock::time_point stopped_at = stopper.get();
  EXPECT_TRUE(reply.status.ok()) << reply.status.ToString();
  EXPECT_EQ(reply.from, "local");
  std::printf("publisher: Stop() -> removed at the consumer %.1f ms; in-flight call answered at %.1f ms; "
              "Stop() returned at %.1f ms\n",
              Ms(removed_at - stop_at), Ms(answered_at - stop_at), Ms(stopped_at - stop_at));
  EXPECT_LT(removed_at - stop_at, 1s);
  EXPECT_LT(removed_at, answered_at);
  EXPECT_TRUE((*publisher)->published().empty());

  // The hooks outlive the publisher harmlessly; destroying it withdraws.
  publisher->reset();
  server.reset();
}

TEST_F(ServerPublisherTest, PublishesOnlyTheListedServicesAndWithdrawsOnDestruction) {
  FaultyEcho echo("local");
  rpc::Server server;
  ASSERT_TRUE(server.AddService(&echo).ok());
  PublishOptions p;
  p.services = {"no.such.Service"};
  auto none = ServerPublisher::Attach(server, keeper_.url(), p);
  ASSERT_TRUE(none.ok());
  PublishOptions fixed;
  fixed.address = "10.1.2.3:9000";
  auto all = ServerPublisher::Attach(server, keeper_.url(), fixed);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ServerPublisher::Attach(server, "list://127.0.0.1:1", {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*all)->Publish().code(), Code::kFailedPrecondition);  // not serving yet

  auto naming = NamingService::FromUrl(keeper_.url());
  ASSERT_TRUE(naming.ok());
  SnapshotRecorder rec;
  ASSERT_TRUE((*naming)->Subscribe(kEchoService, rec.Listener()).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_TRUE((*none)->published().empty());
  ASSERT_TRUE(rec.WaitForAddresses({"10.1.2.3:9000"}));
  all->reset();
  ASSERT_TRUE(rec.WaitForAddresses({}));
  server.Stop(0ms);
}

TEST(ServerPublisherAddress, LoopbackForAllInterfaces) {
  EXPECT_EQ(DefaultAdvertisedAddress("0.0.0.0:8000"), "127.0.0.1:8000");
  EXPECT_EQ(DefaultAdvertisedAddress("[::]:8001"), "127.0.0.1:8001");
  EXPECT_EQ(DefaultAdvertisedAddress("10.0.0.7:8002"), "10.0.0.7:8002");
  EXPECT_EQ(DefaultAdvertisedAddress("[fe80::1]:8003"), "[fe80::1]:8003");
}

// ---- in-process preference ----

class ClusterInProcess : public ClusterChannelTest {
 protected:
  // A server of this process with a FaultyEcho "local", and a channel that
  // prefers it.
  void SetUp() override {
    ClusterChannelTest::SetUp();
    rpc::ServerOptions so;
    so.io_threads = 1;
    so.worker_threads = 1;
    server_ = std::make_unique<rpc::Server>(so);
    ASSERT_TRUE(server_->AddService(&local_).ok());
  }
  std::shared_ptr<ClusterChannel> LocalFirstChannel(ClusterChannelOptions o = BaseOptions()) {
    o.in_process_server = server_.get();
    return MakeChannel(o);
  }

  static bool AllFrom(rpc::ChannelInterface& ch, const std::string& who, int n) {
    for (int i = 0; i < n; ++i) {
      EchoReply r = CallEcho(ch);
      if (!r.status.ok() || (who.empty() ? r.from == "local" : r.from != who)) {
        ADD_FAILURE() << "call " << i << ": " << r.status.ToString() << " from " << r.from;
        return false;
      }
    }
    return true;
  }
  FaultyEcho local_{"local"};
  std::unique_ptr<rpc::Server> server_;
};

TEST_F(ClusterInProcess, PrefersTheServingLocalServerAndFallsBackWhenItStops) {
  // The option takes the server object; it need not serve yet.
  auto ch = LocalFirstChannel();
  ASSERT_NE(ch, nullptr);
  EXPECT_TRUE(AllFrom(*ch, "", 6));  // not serving: the providers
  EXPECT_EQ(local_.calls.load(), 0);
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  EXPECT_TRUE(AllFrom(*ch, "local", 10));
  EXPECT_EQ(local_.calls.load(), 10);
  EXPECT_EQ(TotalCalls(), 6);
  EXPECT_EQ(MethodStatus(*ch).in_process, 10u);

  // The local server's answers are the call's, errors included.
  local_.fail_code = static_cast<int>(Code::kNotFound);
  EXPECT_EQ(CallEcho(*ch).status.code(), Code::kNotFound);
  local_.fail_code = 0;

  // A call in flight locally while the server stops is drained; then the
  // providers take over.
  local_.delay_ms = 300;
  auto in_flight = std::async(std::launch::async, [&] { return CallEcho(*ch); });
  ASSERT_TRUE(WaitUntil([&] { return local_.calls.load() == 12; }));
  server_->Stop(2s);
  EchoReply drained = in_flight.get();
  EXPECT_TRUE(drained.status.ok()) << drained.status.ToString();
  EXPECT_EQ(drained.from, "local");
  EXPECT_TRUE(AllFrom(*ch, "", 6));
  EXPECT_EQ(local_.calls.load(), 12);
  EXPECT_EQ(TotalCalls(), 12);
}

TEST_F(ClusterInProcess, LocalServerAbortedMidCallFailsOverToProviders) {
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  ClusterChannelOptions o = BaseOptions();
  o.policy.mode = FaultTolerance::kFailfast;  // even failfast: nothing was served locally
  auto ch = LocalFirstChannel(o);
  local_.delay_ms = 5000;
  auto in_flight = std::async(std::launch::async, [&] { return CallEcho(*ch, kEcho, 10s); });
  ASSERT_TRUE(WaitUntil([&] { return local_.calls.load() == 1; }));
  server_->Stop(50ms);  // grace too short: the local call is aborted UNAVAILABLE
  EchoReply r = in_flight.get();
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_NE(r.from, "local");
  EXPECT_EQ(TotalCalls(), 1);
  EXPECT_EQ(MethodStatus(*ch).retries, 0u);
}

TEST_F(ClusterInProcess, ChannelDestroyedWithALocalCallInFlightCompletesIt) {
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  auto ch = LocalFirstChannel();
  local_.delay_ms = 5000;
  std::promise<Status> result;
  rpc::ClientContext ctx;
  example::EchoRequest req;
  example::EchoResponse resp;
  ch->CallMethod(kEcho, &ctx, req, &resp, [&](Status st) { result.set_value(std::move(st)); });
  ASSERT_TRUE(WaitUntil([&] { return local_.calls.load() == 1; }));
  auto start = Clock::now();
  ch.reset();  // `done` has run when the destructor returns
  auto future = result.get_future();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  EXPECT_FALSE(future.get().ok());
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(ClusterInProcess, ServerWithoutTheServiceIsNotUsed) {
  rpc::Server other;
  ASSERT_TRUE(other.Start("127.0.0.1:0").ok());  // serves nothing but reflection
  ClusterChannelOptions o = BaseOptions();
  o.in_process_server = &other;
  auto ch = MakeChannel(o);
  EXPECT_TRUE(AllFrom(*ch, "", 3));
  EXPECT_EQ(MethodStatus(*ch).in_process, 0u);
}

// ---- status section ----

TEST_F(ClusterChannelTest, StatusAndMetricsShowOnServerPages) {
  ClusterChannelOptions o = BaseOptions();
  o.policy.max_concurrency = 1;
  o.fallback = [](const rpc::MethodSpec&, const google::protobuf::Message&, google::protobuf::Message*,
                  const Status&) { return Status(); };
  auto ch = MakeChannel(o);
  ASSERT_NE(ch, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  DelayAll(300);
  auto slow = std::async(std::launch::async, [&] { return CallEcho(*ch); });
  ASSERT_TRUE(WaitUntil([&] { return TotalCalls() == 4; }));
  EXPECT_TRUE(CallEcho(*ch).status.ok());  // rejected, the fallback answers
  EXPECT_TRUE(slow.get().status.ok());

  rpc::Server& page = *P(0).server();
  std::string status = page.StatusPage();
  EXPECT_NE(status.find("cluster dougong.example.EchoService lb=random providers=3"), std::string::npos) << status;
  EXPECT_NE(status.find("  provider " + P(1).address() + " weight=100"), std::string::npos) << status;
  EXPECT_NE(status.find("method Echo mode=failover calls=5 ok=5 failed=0 retries=0 hedges=0 rejected=1"),
            std::string::npos)
      << status;

  std::string metrics = page.MetricsPage();
  const std::string svc = "service=\"dougong.example.EchoService\"";
  for (const std::string& line : {
           "dougong_cluster_calls_total{" + svc + ",method=\"Echo\"} 5\n",
           "dougong_cluster_rejected_total{" + svc + ",method=\"Echo\"} 1\n",
           "dougong_cluster_fallbacks_total{" + svc + ",method=\"Echo\"} 1\n",
           "dougong_cluster_retries_total{" + svc + ",method=\"Echo\"} 0\n",
           "dougong_cluster_breaker_open{" + svc + ",method=\"Echo\"} 0\n",
           "dougong_cluster_providers{" + svc + "} 3\n",
           "dougong_cluster_provider_weight{" + svc + ",provider=\"" + P(2).address() + "\"} 100\n",
           "dougong_cluster_provider_active{" + svc + ",provider=\"" + P(2).address() + "\"} 0\n",
           "dougong_cluster_provider_breaker_open{" + svc + ",provider=\"" + P(2).address() + "\"} 0\n",
           std::string("# TYPE dougong_cluster_calls_total counter\n"),
           std::string("# TYPE dougong_cluster_provider_active gauge\n"),
       })
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;

  // Gone with the channel; and a channel can stay off the pages.
  ch.reset();
  EXPECT_EQ(page.StatusPage().find("cluster dougong.example.EchoService"), std::string::npos);
  EXPECT_EQ(page.MetricsPage().find("dougong_cluster_"), std::string::npos);

  ClusterChannelOptions quiet = BaseOptions();
  quiet.publish_status = false;
  auto hidden = MakeChannel(quiet);
  EXPECT_EQ(page.StatusPage().find("cluster dougong.example.EchoService"), std::string::npos);
}

}  // namespace
}  // namespace dougong::cluster::testing
