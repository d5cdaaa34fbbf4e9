// The rpc server's hooks for the cluster layer: admission hooks (native,
// HTTP, in-process), lifecycle hooks (serving, stopping), the observability
// registry behind /status and /metrics, and the in-process channel
// (blocking and coroutine handlers, deadlines, cancellation, limits, stop).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>

#include "dougong/base/observability.h"
#include "dougong/rpc/channel.h"
#include "dougong/rpc/server.h"
#include "echo.dougong.h"

namespace dougong::rpc {
namespace {

using namespace std::chrono_literals;
using example::EchoRequest;
using example::EchoResponse;
using Clock = std::chrono::steady_clock;

constexpr MethodSpec kEcho{"dougong.example.EchoService", "Echo", false};

// Echo with sleep_ms: the blocking form polls IsCanceled, the coroutine form
// waits on a timer its cancellation aborts. Counts runs and cancellations.
class TestEcho : public example::EchoServiceBase {
 public:
  explicit TestEcho(HandlerMode mode) : EchoServiceBase(mode) {}

  std::atomic<int> runs{0};
  std::atomic<int> saw_cancel{0};
  std::atomic<int> finished{0};

  Status Echo(ServerContext& ctx, const EchoRequest& req, EchoResponse* resp) override {
    ++runs;
    auto until = Clock::now() + std::chrono::milliseconds(req.sleep_ms());
    while (Clock::now() < until) {
      if (ctx.IsCanceled()) {
        ++saw_cancel;
        ++finished;
        return Cancelled("noticed");
      }
      std::this_thread::sleep_for(2ms);
    }
    Fill(ctx, req, resp);
    ++finished;
    return {};
  }

  Awaitable<Status> CoEcho(ServerContext& ctx, const EchoRequest& req, EchoResponse* resp) override {
    ++runs;
    if (req.sleep_ms() > 0) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                      std::chrono::milliseconds(req.sleep_ms()));
      boost::system::error_code ec;
      try {
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      } catch (const boost::system::system_error& e) {
        ec = e.code();
      }
      if (ec || ctx.IsCanceled()) {
        ++saw_cancel;
        ++finished;
        co_return Cancelled("noticed");
      }
    }
    Fill(ctx, req, resp);
    ++finished;
    co_return Status();
  }

 private:
  static void Fill(ServerContext& ctx, const EchoRequest& req, EchoResponse* resp) {
    resp->set_message(req.message());
    for (const auto& [k, v] : ctx.request_metadata()) ctx.AddResponseMetadata(k, "echo:" + v);
    ctx.set_response_attachment(ctx.request_attachment());
  }
};

ServerOptions SmallOptions() {
  ServerOptions o;
  o.io_threads = 2;
  o.worker_threads = 2;
  return o;
}

Status CallEcho(ChannelInterface& ch, const std::string& message, int sleep_ms = 0,
                std::chrono::milliseconds timeout = 5s, EchoResponse* out = nullptr, ClientContext* given = nullptr) {
  ClientContext local;
  ClientContext& ctx = given ? *given : local;
  if (timeout.count() > 0) ctx.set_timeout(timeout);
  EchoRequest req;
  req.set_message(message);
  req.set_sleep_ms(sleep_ms);
  EchoResponse resp;
  Status st = ch.Call(kEcho, &ctx, req, out ? out : &resp);
  return st;
}

// One HTTP/1.1 request on a fresh connection; the whole answer.
std::string HttpPost(int port, const std::string& path, const std::string& extra_headers, const std::string& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + extra_headers +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// ---- admission hooks ----

TEST(AdmissionHook, RefusesNativeHttpAndInProcessCallsBeforeTheHandler) {
  TestEcho echo(HandlerMode::kBlocking);
  Server server(SmallOptions());
  ASSERT_TRUE(server.AddService(&echo).ok());
  std::mutex mu;
  std::vector<std::string> peers;
  ASSERT_TRUE(server
                  .AddAdmissionHook([&](const AdmissionInfo& info) -> Status {
                    EXPECT_EQ(info.service, "dougong.example.EchoService");
                    EXPECT_EQ(info.method, "Echo");
                    {
                      std::lock_guard lock(mu);
                      peers.emplace_back(info.peer);
                    }
                    if (FindMetadata(info.metadata, "x-deny")) return Status(Code::kPermissionDenied, "denied by the test hook");
                    return {};
                  })
                  .ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_EQ(server.AddAdmissionHook([](const AdmissionInfo&) { return Status(); }).code(),
            Code::kFailedPrecondition);

  auto ch = Channel::Create("127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(ch.ok());
  EXPECT_TRUE(CallEcho(**ch, "ok").ok());
  ClientContext denied;
  denied.AddMetadata("x-deny", "1");
  Status st = CallEcho(**ch, "no", 0, 5s, nullptr, &denied);
  EXPECT_EQ(st.code(), Code::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("denied by the test hook"), std::string::npos);

  std::string http = HttpPost(server.port(), "/dougong.example.EchoService/Echo", "X-Deny: 1\r\n", "{}");
  EXPECT_NE(http.find("HTTP/1.1 403"), std::string::npos) << http;
  EXPECT_NE(http.find("PERMISSION_DENIED"), std::string::npos) << http;

  auto local = server.InProcessChannel();
  ClientContext denied_local;
  denied_local.AddMetadata("x-deny", "1");
  EXPECT_EQ(CallEcho(*local, "no", 0, 5s, nullptr, &denied_local).code(), Code::kPermissionDenied);
  EXPECT_TRUE(CallEcho(*local, "ok").ok());

  EXPECT_EQ(echo.runs.load(), 2);  // the two admitted calls only
  std::string page = server.StatusPage();
  EXPECT_NE(page.find("PERMISSION_DENIED=3"), std::string::npos) << page;
  EXPECT_NE(server.MetricsPage().find("method=\"dougong.example.EchoService/Echo\",code=\"PERMISSION_DENIED\"} 3"),
            std::string::npos);
  std::lock_guard lock(mu);
  ASSERT_EQ(peers.size(), 5u);
  EXPECT_EQ(peers[0].rfind("127.0.0.1:", 0), 0u) << peers[0];
  EXPECT_EQ(peers[3], "in-process");
}

TEST(AdmissionHook, MethodConcurrencyLimitAnswersAtOnce) {
  TestEcho echo(HandlerMode::kCoroutine);
  Server server(SmallOptions());
  ASSERT_TRUE(server.AddService(&echo).ok());
  ASSERT_TRUE(server.SetMethodMaxConcurrency("dougong.example.EchoService/Echo", 1).ok());
  int hook_calls = 0;  // runs only for calls within the limit
  ASSERT_TRUE(server.AddAdmissionHook([&](const AdmissionInfo&) {
                      ++hook_calls;
                      return Status();
                    })
                  .ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  auto ch = *Channel::Create("127.0.0.1:" + std::to_string(server.port()));
  auto slow = std::async(std::launch::async, [&] { return CallEcho(*ch, "slow", 800); });
  ASSERT_TRUE([&] {
    for (int i = 0; i < 500 && echo.runs.load() == 0; ++i) std::this_thread::sleep_for(2ms);
    return echo.runs.load() == 1;
  }());
  for (ChannelInterface* c : {static_cast<ChannelInterface*>(ch.get()), server.InProcessChannel().get()}) {
    auto start = Clock::now();
    Status st = CallEcho(*c, "second");
    auto took = Clock::now() - start;
    EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.ToString();
    EXPECT_LT(took, 200ms);
  }
  EXPECT_TRUE(slow.get().ok());
  EXPECT_EQ(hook_calls, 1);
}

// ---- lifecycle hooks ----

TEST(LifecycleHooks, ServingAfterBindAndStoppingBeforeTheDrain) {
  TestEcho echo(HandlerMode::kCoroutine);
  Server server(SmallOptions());
  ASSERT_TRUE(server.AddService(&echo).ok());
  std::vector<std::string> events;
  std::shared_ptr<Channel> ch;
  ASSERT_TRUE(server
                  .OnServing([&] {
                    events.push_back("serving");
                    EXPECT_TRUE(server.serving());
                    EXPECT_NE(server.port(), 0);
                    EXPECT_EQ(server.listen_address(), "127.0.0.1:" + std::to_string(server.port()));
                    // Calls are served already.
                    ch = *Channel::Create(server.listen_address());
                    EXPECT_TRUE(CallEcho(*ch, "from serving hook").ok());
                  })
                  .ok());
  ASSERT_TRUE(server
                  .OnStopping([&] {
                    events.push_back("stopping");
                    // Still serving: a consumer that has not noticed yet is answered.
                    EXPECT_TRUE(server.serving());
                    EXPECT_TRUE(CallEcho(*ch, "from stopping hook").ok());
                    EXPECT_TRUE(CallEcho(*server.InProcessChannel(), "local").ok());
                  })
                  .ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_EQ(events, std::vector<std::string>{"serving"});
  EXPECT_EQ(server.OnServing([] {}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(server.OnStopping([] {}).code(), Code::kFailedPrecondition);
  ASSERT_EQ(server.services().size(), 1u);  // not the reflection service
  EXPECT_TRUE(server.HasService("dougong.example.EchoService"));
  EXPECT_FALSE(server.HasService("dougong.rpc.Reflection"));

  server.Stop(1s);
  EXPECT_FALSE(server.serving());
  server.Stop(1s);  // hooks run once
  EXPECT_EQ(events, (std::vector<std::string>{"serving", "stopping"}));
  EXPECT_EQ(CallEcho(*ch, "after", 0, 1s).code(), Code::kUnavailable);
}

TEST(LifecycleHooks, ServingHooksDoNotRunWhenStartFails) {
  TestEcho echo(HandlerMode::kCoroutine);
  Server first(SmallOptions());
  ASSERT_TRUE(first.AddService(&echo).ok());
  ASSERT_TRUE(first.Start("127.0.0.1:0").ok());
  Server second(SmallOptions());
  bool ran = false;
  ASSERT_TRUE(second.OnServing([&] { ran = true; }).ok());
  EXPECT_FALSE(second.Start("127.0.0.1:" + std::to_string(first.port())).ok());
  EXPECT_FALSE(ran);
}

// ---- observability registry ----

TEST(Observability, SectionsAppearOnThePagesAndFamiliesMerge) {
  TestEcho echo(HandlerMode::kCoroutine);
  Server server(SmallOptions());
  ASSERT_TRUE(server.AddService(&echo).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  auto metric = [](const char* who) {
    return [who](MetricFamilies& m) {
      m.Add("dougong_test_widgets_total", MetricType::kCounter, "Widgets.", {{"who", who}, {"q", "a\"b"}}, 3);
      m.Add("dougong_test_ratio", MetricType::kGauge, "A ratio.", {}, 0.25);
    };
  };
  auto a = ObservabilityRegistry::Global().Add("test/a", [] { return std::string("section a here\n"); }, metric("a"));
  auto b = ObservabilityRegistry::Global().Add("test/b", [] { return std::string("section b here\n"); }, metric("b"));
  std::string status = server.StatusPage();
  EXPECT_NE(status.find("section a here"), std::string::npos);
  EXPECT_LT(status.find("section a here"), status.find("section b here"));
  std::string metrics = server.MetricsPage();
  size_t help = metrics.find("# HELP dougong_test_widgets_total Widgets.");
  ASSERT_NE(help, std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("# HELP dougong_test_widgets_total", help + 1), std::string::npos);  // once
  EXPECT_NE(metrics.find("dougong_test_widgets_total{who=\"a\",q=\"a\\\"b\"} 3\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("dougong_test_widgets_total{who=\"b\",q=\"a\\\"b\"} 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE dougong_test_ratio gauge\ndougong_test_ratio 0.25\n"), std::string::npos);

  a.Reset();
  EXPECT_EQ(server.StatusPage().find("section a here"), std::string::npos);
  EXPECT_NE(server.StatusPage().find("section b here"), std::string::npos);
  b = ObservabilityHandle();  // move-assign removes too
  EXPECT_EQ(server.MetricsPage().find("dougong_test_widgets_total"), std::string::npos);
}

// Reset while a page renders the section: Reset waits for the render, and
// the section's functions never run after it (ASan would see the owner's
// memory used after free otherwise).
TEST(Observability, RemovingASectionWhileAPageRendersIsSafe) {
  ObservabilityRegistry registry;
  std::mutex mu;
  std::condition_variable cv;
  bool in_render = false;
  bool release = false;
  auto owner = std::make_unique<std::string>("owner's text\n");
  auto handle = registry.Add(
      "blocking",
      [&, text = owner.get()] {
        std::unique_lock lock(mu);
        in_render = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return *text;
      },
      nullptr);
  auto render = std::async(std::launch::async, [&] { return registry.StatusText(); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return in_render; }));
  }
  std::atomic<bool> reset_done{false};
  auto remover = std::async(std::launch::async, [&] {
    handle.Reset();
    reset_done = true;
    owner.reset();  // what the section pointed to is gone after Reset
  });
  // Reset cannot finish while the render runs the section.
  EXPECT_EQ(remover.wait_for(100ms), std::future_status::timeout);
  EXPECT_FALSE(reset_done.load());
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(render.get(), "\nowner's text\n");
  remover.get();
  EXPECT_EQ(registry.StatusText(), "");
  EXPECT_EQ(registry.size(), 0u);

  // And a churn of sections coming and going under concurrent renders.
  std::atomic<bool> stop{false};
  std::vector<std::thread> renders;
  for (int i = 0; i < 2; ++i)
    renders.emplace_back([&] {
      while (!stop) {
        MetricFamilies m;
        registry.CollectMetrics(m);
        (void)registry.StatusText();
      }
    });
  for (int i = 0; i < 300; ++i) {
    auto value = std::make_unique<int>(i);
    auto h = registry.Add(
        "churn", [v = value.get()] { return std::to_string(*v) + "\n"; },
        [v = value.get()](MetricFamilies& m) { m.Add("dougong_test_churn", MetricType::kGauge, "x", {}, *v); });
    h.Reset();
    value.reset();
  }
  stop = true;
  for (auto& t : renders) t.join();
}

// ---- in-process channel ----

class InProcess : public ::testing::TestWithParam<HandlerMode> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.AddService(&echo_).ok());
    ASSERT_TRUE(server_.Start("127.0.0.1:0").ok());
    channel_ = server_.InProcessChannel();
  }
  std::string Counts() { return server_.StatusPage(); }

  TestEcho echo_{GetParam()};
  Server server_{SmallOptions()};
  std::shared_ptr<ChannelInterface> channel_;
};

TEST_P(InProcess, CallsTheHandlerWithMetadataAttachmentAndStats) {
  EXPECT_EQ(server_.InProcessChannel(), channel_);  // one per server
  ClientContext ctx;
  ctx.AddMetadata("k", "v");
  ctx.set_attachment(Bytes::Copy("attached"));
  EchoResponse resp;
  Status st = CallEcho(*channel_, "hello", 0, 5s, &resp, &ctx);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(resp.message(), "hello");
  const std::string* md = FindMetadata(ctx.response_metadata(), "k");
  ASSERT_NE(md, nullptr);
  EXPECT_EQ(*md, "echo:v");
  EXPECT_EQ(ctx.response_attachment().ToString(), "attached");
  EXPECT_NE(Counts().find("Echo mode=" + std::string(GetParam() == HandlerMode::kBlocking ? "blocking" : "coroutine") +
                          " count=1"),
            std::string::npos)
      << Counts();

  // Messages of another descriptor pool (same wire format, different
  // descriptors) travel as bytes: serialized and parsed.
  google::protobuf::FileDescriptorProto file;
  EchoRequest::descriptor()->file()->CopyTo(&file);
  google::protobuf::DescriptorPool pool;
  ASSERT_NE(pool.BuildFile(file), nullptr);
  const auto* req_type = pool.FindMessageTypeByName("dougong.example.EchoRequest");
  const auto* resp_type = pool.FindMessageTypeByName("dougong.example.EchoResponse");
  ASSERT_NE(req_type, EchoRequest::descriptor());
  google::protobuf::DynamicMessageFactory factory(&pool);
  std::unique_ptr<google::protobuf::Message> dyn_req(factory.GetPrototype(req_type)->New());
  std::unique_ptr<google::protobuf::Message> dyn_resp(factory.GetPrototype(resp_type)->New());
  dyn_req->GetReflection()->SetString(dyn_req.get(), req_type->FindFieldByName("message"), "dyn");
  ClientContext ctx2;
  ASSERT_TRUE(channel_->Call(kEcho, &ctx2, *dyn_req, dyn_resp.get()).ok());
  EXPECT_EQ(dyn_resp->GetReflection()->GetString(*dyn_resp, resp_type->FindFieldByName("message")), "dyn");

  // Coroutine form of the caller.
  boost::asio::io_context io;
  EchoRequest req;
  req.set_message("co");
  EchoResponse co_resp;
  ClientContext co_ctx;
  auto fut = boost::asio::co_spawn(
      io, [&]() -> Awaitable<Status> { co_return co_await channel_->CoCall(kEcho, &co_ctx, req, &co_resp); },
      boost::asio::use_future);
  io.run();
  EXPECT_TRUE(fut.get().ok());
  EXPECT_EQ(co_resp.message(), "co");

  ClientContext ctx3;
  EXPECT_EQ(channel_->Call({"dougong.example.EchoService", "Nope", false}, &ctx3, req, &co_resp).code(),
            Code::kUnimplemented);
}

TEST_P(InProcess, DeadlineAnswersOnTimeAndTheHandlerSeesIt) {
  auto start = Clock::now();
  Status st = CallEcho(*channel_, "slow", 3000, 150ms);
  auto took = Clock::now() - start;
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_GE(took, 140ms);
  EXPECT_LT(took, 1000ms);
  // The handler noticed (cancellation slot or IsCanceled) and the server
  // counted the call as DEADLINE_EXCEEDED.
  for (int i = 0; i < 1000 && echo_.finished.load() == 0; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(echo_.saw_cancel.load(), 1);
  for (int i = 0; i < 1000 && Counts().find("DEADLINE_EXCEEDED=1") == std::string::npos; ++i)
    std::this_thread::sleep_for(2ms);
  EXPECT_NE(Counts().find("DEADLINE_EXCEEDED=1"), std::string::npos) << Counts();
}

TEST_P(InProcess, CancelAnswersAtOnceAndReachesTheHandler) {
  ClientContext ctx;
  auto call = std::async(std::launch::async, [&] { return CallEcho(*channel_, "slow", 3000, 10s, nullptr, &ctx); });
  for (int i = 0; i < 1000 && echo_.runs.load() == 0; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(echo_.runs.load(), 1);
  auto start = Clock::now();
  ctx.Cancel();
  EXPECT_EQ(call.get().code(), Code::kCancelled);
  EXPECT_LT(Clock::now() - start, 500ms);
  for (int i = 0; i < 1000 && echo_.finished.load() == 0; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(echo_.saw_cancel.load(), 1);

  ClientContext already;
  already.Cancel();
  EXPECT_EQ(CallEcho(*channel_, "x", 0, 5s, nullptr, &already).code(), Code::kCancelled);
}

TEST_P(InProcess, StopDrainsThenAbortsAndRefusesAfterwards) {
  // One call finishes within the grace period, one does not.
  auto quick = std::async(std::launch::async, [&] { return CallEcho(*channel_, "quick", 200, 10s); });
  auto stuck = std::async(std::launch::async, [&] { return CallEcho(*channel_, "stuck", 5000, 10s); });
  for (int i = 0; i < 1000 && echo_.runs.load() < 2; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(echo_.runs.load(), 2);
  auto start = Clock::now();
  server_.Stop(600ms);
  auto took = Clock::now() - start;
  EXPECT_TRUE(quick.get().ok());
  Status st = stuck.get();
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 5000ms);
  EXPECT_EQ(CallEcho(*channel_, "late").code(), Code::kUnavailable);
}

// What skipping the socket and the serialization saves, per sequential call
// (printed; the build is the sanitized test build, so only the ratio means
// anything).
TEST_P(InProcess, CheaperThanLoopback) {
  auto network = *Channel::Create(server_.listen_address());
  ASSERT_TRUE(CallEcho(*network, "warm").ok());
  // Rounds alternate between the two, and each side keeps its best round:
  // a stall of the shared machine hits one round, not the comparison.
  constexpr int kCalls = 100;
  constexpr int kRounds = 7;
  auto mean_us = [&](ChannelInterface& ch) {
    auto start = Clock::now();
    for (int i = 0; i < kCalls; ++i) EXPECT_TRUE(CallEcho(ch, "x").ok());
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kCalls;
  };
  double local = 1e18, remote = 1e18;
  for (int round = 0; round < kRounds; ++round) {
    local = std::min(local, mean_us(*channel_));
    remote = std::min(remote, mean_us(*network));
  }
  std::printf("in-process %.1f us/call, loopback %.1f us/call (%s handler; best of %d rounds)\n", local, remote,
              GetParam() == HandlerMode::kBlocking ? "blocking" : "coroutine", kRounds);
  // Usually 1.2-2x faster here; the margin is loose because other builds
  // share the machine's two cores.
  EXPECT_LT(local, remote * 1.5);
}

INSTANTIATE_TEST_SUITE_P(Modes, InProcess, ::testing::Values(HandlerMode::kBlocking, HandlerMode::kCoroutine),
                         [](const auto& info) {
                           return std::string(info.param == HandlerMode::kBlocking ? "Blocking" : "Coroutine");
                         });

TEST(InProcessChannel, UnavailableBeforeStart) {
  TestEcho echo(HandlerMode::kCoroutine);
  Server server(SmallOptions());
  ASSERT_TRUE(server.AddService(&echo).ok());
  auto ch = server.InProcessChannel();
  EXPECT_EQ(CallEcho(*ch, "early").code(), Code::kUnavailable);
  EXPECT_FALSE(server.serving());
}

}  // namespace
}  // namespace dougong::rpc
