// End-to-end calls over loopback: the three stub forms, both handler modes,
// metadata, attachments, compression, deadlines, cancellation, HTTP/JSON.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <future>

#include "test_util.h"

namespace dougong::testing {
namespace {

using test::TestServiceStub;
using test::WorkRequest;
using test::WorkResponse;

TEST(RpcCall, BlockingCallbackAndCoroutineStubsAgainstBothHandlerModes) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  WorkRequest req;
  req.set_text("hello");

  auto blocking = stub.Work(req);
  ASSERT_TRUE(blocking.ok()) << blocking.status().ToString();
  EXPECT_EQ(blocking->text(), "hello");
  auto coro_handler = stub.CoroWork(req);
  ASSERT_TRUE(coro_handler.ok()) << coro_handler.status().ToString();
  EXPECT_EQ(coro_handler->text(), "hello");

  std::promise<Result<WorkResponse>> p;
  rpc::ClientContext ctx;
  stub.AsyncWork(req, &ctx, [&p](Result<WorkResponse> r) { p.set_value(std::move(r)); });
  auto cb = p.get_future().get();
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->text(), "hello");

  boost::asio::io_context io;
  std::optional<Result<WorkResponse>> co_result;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { co_result = co_await stub.CoCoroWork(req); },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(co_result.has_value());
  ASSERT_TRUE(co_result->ok()) << co_result->status().ToString();
  EXPECT_EQ((*co_result)->text(), "hello");
}

TEST(RpcCall, ErrorStatusTravelsWithCodeAndMessage) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  for (int code = 1; code < kNumCodes; ++code) {
    WorkRequest req;
    req.set_fail_code(code);
    req.set_fail_message("reason " + std::to_string(code));
    auto r = stub.Work(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(static_cast<int>(r.status().code()), code);
    EXPECT_EQ(r.status().message(), "reason " + std::to_string(code));
  }
}

TEST(RpcCall, MetadataBothWaysAndAttachmentUncopiedSemantics) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  rpc::ClientContext ctx;
  ctx.AddMetadata("tenant", "blue");
  ctx.AddMetadata("trace", "t1");
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  ctx.set_attachment(Bytes::Copy(big));
  WorkRequest req;
  req.set_text("md");
  auto r = stub.CoroWork(req, &ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(ctx.response_metadata().size(), 2u);
  EXPECT_EQ(*rpc::FindMetadata(ctx.response_metadata(), "tenant"), "echo:blue");
  EXPECT_EQ(ctx.response_attachment().view(), big);
}

TEST(RpcCall, CompressionNoneLz4Zstd) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  std::string blob(200000, 'z');
  for (auto c : {rpc::Compression::kNone, rpc::Compression::kLz4, rpc::Compression::kZstd}) {
    rpc::ClientContext ctx;
    ctx.set_compression(c);
    WorkRequest req;
    req.set_blob(blob);
    auto r = stub.Work(req, &ctx);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->blob(), blob);
  }
}

TEST(RpcCall, ManyOutstandingCallsOnOneConnectionCompleteOutOfOrder) {
  TestServer ts;
  auto channel = ts.Channel();
  TestServiceStub stub(channel);
  constexpr int kCalls = 200;
  std::vector<std::unique_ptr<rpc::ClientContext>> ctxs;
  std::atomic<int> ok{0}, done{0};
  std::vector<int> order;
  std::mutex mu;
  for (int i = 0; i < kCalls; ++i) {
    ctxs.push_back(std::make_unique<rpc::ClientContext>());
    WorkRequest req;
    req.set_text(std::to_string(i));
    req.set_sleep_ms(i % 2 == 0 ? 30 : 0);  // even ones finish later
    stub.AsyncCoroWork(req, ctxs.back().get(), [&, i](Result<WorkResponse> r) {
      if (r.ok() && r->text() == std::to_string(i)) ++ok;
      std::lock_guard lock(mu);
      order.push_back(i);
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == kCalls; }));
  EXPECT_EQ(ok.load(), kCalls);
  // An odd call sent after an even one finished before it.
  std::lock_guard lock(mu);
  EXPECT_EQ(order.front() % 2, 1);
}

TEST(RpcCall, DeadlineTravelsAndExpires) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  rpc::ClientContext ctx;
  ctx.set_timeout(std::chrono::milliseconds(2000));
  auto r = stub.Work(WorkRequest(), &ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->remaining_ms(), 1000);
  EXPECT_LE(r->remaining_ms(), 2000);

  auto none = stub.Work(WorkRequest());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->remaining_ms(), -1);

  rpc::ClientContext short_ctx;
  short_ctx.set_timeout(std::chrono::milliseconds(50));
  WorkRequest slow;
  slow.set_sleep_ms(5000);
  auto start = std::chrono::steady_clock::now();
  auto late = stub.CoroWork(slow, &short_ctx);
  EXPECT_EQ(late.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // The server is told to cancel the handler.
  EXPECT_TRUE(WaitFor([&] { return ts.service.saw_cancel.load() == 1; }));
}

TEST(RpcCall, RequestWhoseDeadlinePassedInTheQueueIsNotRun) {
  rpc::ServerOptions o;
  o.worker_threads = 1;
  TestServer ts(o);
  TestServiceStub stub(ts.Channel());
  WorkRequest hog;
  hog.set_sleep_ms(300);
  rpc::ClientContext hog_ctx;
  std::promise<Status> hog_done;
  stub.AsyncWork(hog, &hog_ctx, [&](Result<WorkResponse> r) { hog_done.set_value(r.status()); });
  ASSERT_TRUE(WaitFor([&] { return ts.service.running.load() == 1; }));
  rpc::ClientContext ctx;
  ctx.set_timeout(std::chrono::milliseconds(50));
  auto r = stub.Work(WorkRequest(), &ctx);
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_TRUE(hog_done.get_future().get().ok());
  // Only the hog ran: the queued request was dropped, not started.
  EXPECT_TRUE(WaitFor([&] { return ts.server.StatusPage().find("DEADLINE_EXCEEDED=1") != std::string::npos; }));
  EXPECT_EQ(ts.service.started.load(), 1);
}

TEST(RpcCall, ClientCancelCancelsTheHandler) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  for (const char* method : {"Work", "CoroWork"}) {
    int before = ts.service.saw_cancel.load();
    int started = ts.service.started.load();
    rpc::ClientContext ctx;
    WorkRequest req;
    req.set_sleep_ms(10000);
    std::promise<Status> done;
    auto cb = [&](Result<WorkResponse> r) { done.set_value(r.status()); };
    if (std::string(method) == "Work") stub.AsyncWork(req, &ctx, cb);
    else stub.AsyncCoroWork(req, &ctx, cb);
    ASSERT_TRUE(WaitFor([&] { return ts.service.started.load() == started + 1; }));
    ctx.Cancel();
    EXPECT_EQ(done.get_future().get().code(), Code::kCancelled) << method;
    EXPECT_TRUE(WaitFor([&] { return ts.service.saw_cancel.load() == before + 1; })) << method;
  }
}

TEST(RpcCall, CoroutineCancellationSlotCancelsTheCall) {
  TestServer ts;
  TestServiceStub stub(ts.Channel());
  boost::asio::io_context io;
  boost::asio::cancellation_signal signal;
  std::optional<Result<WorkResponse>> got;
  WorkRequest req;
  req.set_sleep_ms(10000);
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { got = co_await stub.CoCoroWork(req); },
      boost::asio::bind_cancellation_slot(signal.slot(), boost::asio::detached));
  boost::asio::steady_timer t(io, std::chrono::milliseconds(50));
  t.async_wait([&](auto) { signal.emit(boost::asio::cancellation_type::terminal); });
  io.run();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), Code::kCancelled);
}

TEST(RpcCall, ClientDisconnectCancelsTheHandler) {
  TestServer ts;
  std::promise<Status> done;
  auto fut = done.get_future();
  rpc::ClientContext ctx;
  {
    auto channel = ts.Channel();
    TestServiceStub stub(channel);
    WorkRequest req;
    req.set_sleep_ms(10000);
    stub.AsyncWork(req, &ctx, [&](Result<WorkResponse> r) { done.set_value(r.status()); });
    ASSERT_TRUE(WaitFor([&] { return ts.service.running.load() == 1; }));
  }  // the channel goes away with the call in flight
  EXPECT_EQ(fut.get().code(), Code::kCancelled);
  EXPECT_TRUE(WaitFor([&] { return ts.service.saw_cancel.load() == 1; }));
}

TEST(RpcCall, PooledAndShortConnections) {
  TestServer ts;
  for (auto type : {rpc::ChannelOptions::ConnectionType::kPooled, rpc::ChannelOptions::ConnectionType::kShort}) {
    rpc::ChannelOptions o;
    o.connection_type = type;
    o.pool_size = 3;
    TestServiceStub stub(ts.Channel(o));
    for (int i = 0; i < 9; ++i) {
      WorkRequest req;
      req.set_text(std::to_string(i));
      auto r = stub.Work(req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->text(), std::to_string(i));
    }
  }
}

TEST(RpcCall, UnreachableServerFailsFastThenReconnectsWithBackoff) {
  int port;
  {
    TestServer ts;
    port = ts.server.port();
  }
  rpc::ChannelOptions o;
  o.backoff_initial = std::chrono::milliseconds(50);
  o.backoff_max = std::chrono::milliseconds(200);
  auto ch = rpc::Channel::Create("127.0.0.1:" + std::to_string(port), o);
  ASSERT_TRUE(ch.ok());
  TestServiceStub stub(*ch);
  auto r = stub.Work(WorkRequest());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  // Within the backoff window the channel fails at once without dialing.
  auto again = stub.Work(WorkRequest());
  EXPECT_EQ(again.status().code(), Code::kUnavailable);

  TestServiceImpl svc;
  rpc::Server server;
  ASSERT_TRUE(server.AddService(&svc).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:" + std::to_string(port)).ok());
  EXPECT_TRUE(WaitFor([&] { return stub.Work(WorkRequest()).ok(); }));
}

TEST(RpcCall, HttpJsonCallsAndBuiltinPages) {
  TestServer ts;
  RawSocket s(ts.server.port());
  std::string body = R"({"text":"via http"})";
  ASSERT_TRUE(s.Send("POST /dougong.test.TestService/Work HTTP/1.1\r\nHost: x\r\nX-Tenant: red\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  std::string resp = s.ReadUntil("}\n", std::chrono::seconds(5));
  EXPECT_NE(resp.find("HTTP/1.1 200"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"("text":"via http")"), std::string::npos) << resp;
  EXPECT_NE(resp.find("echo:red"), std::string::npos) << resp;

  // Same connection, keep-alive: an unknown method maps to 501.
  ASSERT_TRUE(s.Send("POST /dougong.test.TestService/Nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"));
  resp = s.ReadUntil("}\n", std::chrono::seconds(5));
  EXPECT_NE(resp.find("HTTP/1.1 501"), std::string::npos) << resp;
  EXPECT_NE(resp.find("UNIMPLEMENTED"), std::string::npos) << resp;

  for (const char* page : {"/health", "/status", "/metrics"}) {
    RawSocket p(ts.server.port());
    ASSERT_TRUE(p.Send(std::string("GET ") + page + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    bool closed;
    std::string out = p.ReadUntilClosed(std::chrono::seconds(5), &closed);
    EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << page << out;
  }
}

}  // namespace
}  // namespace dougong::testing
