// Limits (connections, concurrency, frame size) and graceful stop.
#include <future>

#include "test_util.h"

namespace dougong::testing {
namespace {

using test::TestServiceStub;
using test::WorkRequest;
using test::WorkResponse;

WorkRequest Slow(int ms) {
  WorkRequest r;
  r.set_sleep_ms(ms);
  return r;
}

TEST(ServerLimits, ServerWideConcurrencyLimit) {
  rpc::ServerOptions o;
  o.max_concurrency = 2;
  TestServer ts(o);
  TestServiceStub stub(ts.Channel());
  rpc::ClientContext c1, c2;
  std::promise<Status> d1, d2;
  stub.AsyncCoroWork(Slow(300), &c1, [&](Result<WorkResponse> r) { d1.set_value(r.status()); });
  stub.AsyncWork(Slow(300), &c2, [&](Result<WorkResponse> r) { d2.set_value(r.status()); });
  ASSERT_TRUE(WaitFor([&] { return ts.service.started.load() == 2; }));
  auto r = stub.Work(WorkRequest());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("concurrency limit"), std::string::npos);
  EXPECT_TRUE(d1.get_future().get().ok());
  EXPECT_TRUE(d2.get_future().get().ok());
  EXPECT_TRUE(stub.Work(WorkRequest()).ok());
}

TEST(ServerLimits, PerMethodConcurrencyLimit) {
  TestServer ts;
  ASSERT_TRUE(ts.server.SetMethodMaxConcurrency("dougong.test.TestService/Work", 1).ok());
  EXPECT_EQ(ts.server.SetMethodMaxConcurrency("nope/Nope", 1).code(), Code::kNotFound);
  TestServiceStub stub(ts.Channel());
  rpc::ClientContext c1;
  std::promise<Status> d1;
  stub.AsyncWork(Slow(300), &c1, [&](Result<WorkResponse> r) { d1.set_value(r.status()); });
  ASSERT_TRUE(WaitFor([&] { return ts.service.running.load() == 1; }));
  EXPECT_EQ(stub.Work(WorkRequest()).status().code(), Code::kResourceExhausted);
  // Another method is not limited.
  EXPECT_TRUE(stub.CoroWork(WorkRequest()).ok());
  EXPECT_TRUE(d1.get_future().get().ok());
  EXPECT_NE(ts.server.StatusPage().find("RESOURCE_EXHAUSTED=1"), std::string::npos);
}

TEST(ServerLimits, MaxConnections) {
  rpc::ServerOptions o;
  o.max_connections = 2;
  TestServer ts(o);
  TestServiceStub stub(ts.Channel());
  ASSERT_TRUE(stub.Work(WorkRequest()).ok());  // connection 1
  RawSocket second(ts.server.port());
  ASSERT_TRUE(WaitFor([&] {
    return ts.server.MetricsPage().find("dougong_rpc_server_connections 2\n") != std::string::npos;
  }));
  RawSocket third(ts.server.port());
  bool closed;
  third.ReadUntilClosed(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(ts.server.MetricsPage().find("dougong_rpc_server_connections_rejected_total 1\n"), std::string::npos);
  EXPECT_TRUE(stub.Work(WorkRequest()).ok());
}

TEST(ServerLimits, OversizedRequestIsRefusedByTheClient) {
  rpc::ServerOptions so;
  TestServer ts(so);
  rpc::ChannelOptions o;
  o.max_frame_size = 1024;
  TestServiceStub stub(ts.Channel(o));
  WorkRequest req;
  req.set_blob(std::string(4096, 'x'));
  EXPECT_EQ(stub.Work(req).status().code(), Code::kResourceExhausted);
}

TEST(ServerLimits, OversizedRequestIsRefusedByTheServer) {
  rpc::ServerOptions so;
  so.max_frame_size = 4096;
  TestServer ts(so);
  TestServiceStub stub(ts.Channel());
  WorkRequest req;
  req.set_blob(std::string(8192, 'x'));
  auto r = stub.Work(req);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
  EXPECT_TRUE(WaitFor([&] { return stub.Work(WorkRequest()).ok(); }));
}

TEST(ServerStop, GracefulStopDrainsInFlightAndRefusesNew) {
  TestServer ts;
  auto channel = ts.Channel();
  TestServiceStub stub(channel);
  rpc::ClientContext ctx;
  std::promise<Result<WorkResponse>> done;
  WorkRequest slow = Slow(400);
  slow.set_text("drained");
  stub.AsyncWork(slow, &ctx, [&](Result<WorkResponse> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(WaitFor([&] { return ts.service.running.load() == 1; }));
  auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { ts.server.Stop(std::chrono::seconds(10)); });
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text(), "drained");
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(stub.Work(WorkRequest()).status().code(), Code::kUnavailable);
}

TEST(ServerStop, GraceExpiresThenHandlersAreCancelled) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  rpc::ClientContext ctx;
  std::promise<Status> done;
  stub.AsyncWork(Slow(30000), &ctx, [&](Result<WorkResponse> r) { done.set_value(r.status()); });
  ASSERT_TRUE(WaitFor([&] { return ts.service.running.load() == 1; }));
  auto start = std::chrono::steady_clock::now();
  ts.server.Stop(std::chrono::milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(done.get_future().get().ok());
  EXPECT_EQ(ts.service.saw_cancel.load(), 1);
}

// Heartbeats keep an idle multiplexed connection open past the server's idle
// timeout; without them the server closes it and the channel reconnects.
TEST(ServerLimits, IdleTimeoutAndHeartbeats) {
  rpc::ServerOptions so;
  so.idle_timeout = std::chrono::milliseconds(200);
  TestServer ts(so);
  auto accepted = [&] {
    std::string m = ts.server.MetricsPage();
    const std::string key = "\ndougong_rpc_server_connections_accepted_total ";
    return std::stoi(m.substr(m.find(key) + key.size()));
  };
  rpc::ChannelOptions with;
  with.heartbeat_interval = std::chrono::milliseconds(50);
  TestServiceStub live(ts.Channel(with));
  ASSERT_TRUE(live.Work(WorkRequest()).ok());
  ASSERT_EQ(accepted(), 1);
  // Time passing is the point here: three idle timeouts.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_TRUE(live.Work(WorkRequest()).ok());
  EXPECT_EQ(accepted(), 1);

  rpc::ChannelOptions without;
  without.heartbeat_interval = std::chrono::milliseconds(0);
  TestServiceStub idle(ts.Channel(without));
  ASSERT_TRUE(idle.Work(WorkRequest()).ok());
  EXPECT_EQ(accepted(), 2);
  // The server closes it after the idle timeout; the next call reconnects.
  ASSERT_TRUE(WaitFor([&] {
    return ts.server.MetricsPage().find("dougong_rpc_server_connections 1\n") != std::string::npos;
  }));
  EXPECT_TRUE(WaitFor([&] { return idle.Work(WorkRequest()).ok(); }));
  EXPECT_EQ(accepted(), 3);
}

}  // namespace
}  // namespace dougong::testing
