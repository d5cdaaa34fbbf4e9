// Fixtures for the cluster channel tests: echo providers on loopback whose
// faults a test injects (fail with a code, answer slowly, stop and come back),
// three of them discovered through list://, and a blocking echo call.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "dougong/cluster/cluster_channel.h"
#include "dougong/keeper/server.h"
#include "dougong/rpc/server.h"
#include "echo.dougong.h"
#include "naming_test_util.h"

namespace dougong::cluster::testing {

using namespace std::chrono_literals;

inline constexpr char kEchoService[] = "dougong.example.EchoService";
inline constexpr rpc::MethodSpec kEcho{kEchoService, "Echo", false};
inline constexpr rpc::MethodSpec kEchoIdempotent{kEchoService, "Echo", true};

// Waits (bounded) for a condition another thread makes true.
inline bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Echo that answers with its own name, or fails as told.
class FaultyEcho : public example::EchoServiceBase {
 public:
  explicit FaultyEcho(std::string name)
      : EchoServiceBase(rpc::HandlerMode::kCoroutine), name_(std::move(name)) {}

  std::atomic<int> fail_code{0};  // != 0: answer with this code
  std::atomic<int> delay_ms{0};   // wait before answering (cancellable)
  std::atomic<int> calls{0};
  std::atomic<int> cancelled{0};  // handlers that saw the caller give up

  rpc::Awaitable<Status> CoEcho(rpc::ServerContext& ctx, const example::EchoRequest&,
                                example::EchoResponse* response) override {
    ++calls;
    if (int delay = delay_ms.load(); delay > 0) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(delay));
      boost::system::error_code ec;
      try {
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      } catch (const boost::system::system_error& e) {
        ec = e.code();  // cancelled before the wait began
      }
      if (ec || ctx.IsCanceled()) {
        ++cancelled;
        co_return Cancelled(name_ + " cancelled");
      }
    }
    if (int code = fail_code.load(); code != 0) co_return Status(CodeFromInt(code), name_ + " injected failure");
    response->set_message(name_);
    co_return Status();
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// One provider: a server with a FaultyEcho that can stop and come back on
// the same port.
class TestProvider {
 public:
  explicit TestProvider(std::string name) : service(std::move(name)) {}
  ~TestProvider() { Stop(); }

  void Start(int port = 0) {
    rpc::ServerOptions o;
    o.io_threads = 1;
    o.worker_threads = 1;
    o.enable_reflection = false;
    server_ = std::make_unique<rpc::Server>(o);
    ASSERT_TRUE(server_->AddService(&service).ok());
    Status st = server_->Start("127.0.0.1:" + std::to_string(port));
    ASSERT_TRUE(st.ok()) << st.ToString();
    port_ = server_->port();
  }
  void Stop() {
    if (!server_) return;
    server_->Stop(0ms);
    server_.reset();
  }
  void Restart() { Start(port_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  rpc::Server* server() { return server_.get(); }

  FaultyEcho service;

 private:
  std::unique_ptr<rpc::Server> server_;
  int port_ = 0;
};

// A keeper on a free loopback port with a fresh data directory, and the
// zk:// URL of a registry in it (2 s sessions).
class TestKeeper {
 public:
  void Start(const std::string& prefix) {
    dir_ = FreshTestDir(prefix);
    keeper::KeeperOptions k;
    k.host = "127.0.0.1";
    k.port = 0;
    k.admin_port = 0;
    k.data_dir = dir_.string();
    k.tick_ms = 200;
    k.io_threads = 1;
    auto server = keeper::KeeperServer::Start(k);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    keeper_ = std::move(*server);
    url_ = "zk://127.0.0.1:" + std::to_string(keeper_->port()) + "/dougong-test?session_timeout_ms=2000";
  }
  void Stop() {
    keeper_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& url() const { return url_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<keeper::KeeperServer> keeper_;
  std::string url_;
};

struct EchoReply {
  Status status;
  std::string from;  // the provider's name
  std::chrono::steady_clock::duration took{};
};

inline EchoReply CallEcho(rpc::ChannelInterface& channel, const rpc::MethodSpec& method = kEcho,
                          std::chrono::milliseconds timeout = 3s) {
  rpc::ClientContext ctx;
  ctx.set_timeout(timeout);
  example::EchoRequest req;
  req.set_message("hi");
  example::EchoResponse resp;
  EchoReply r;
  auto start = std::chrono::steady_clock::now();
  r.status = channel.Call(method, &ctx, req, &resp);
  r.took = std::chrono::steady_clock::now() - start;
  r.from = resp.message();
  return r;
}

// Three providers behind list://; P(i) is the i-th in address order, the
// order of a ProviderSet (what "available" and "roundrobin" start from).
class ClusterChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      providers_.push_back(std::make_unique<TestProvider>("p" + std::to_string(i)));
      providers_.back()->Start();
    }
    std::sort(providers_.begin(), providers_.end(),
              [](const auto& a, const auto& b) { return a->address() < b->address(); });
  }

  // Options for quick tests: reconnects within tens of milliseconds.
  static ClusterChannelOptions BaseOptions() {
    ClusterChannelOptions o;
    o.channel.connect_timeout = 500ms;
    o.channel.backoff_initial = 10ms;
    o.channel.backoff_max = 50ms;
    return o;
  }

  std::string ListUrl() const {
    std::string url = "list://";
    for (size_t i = 0; i < providers_.size(); ++i) url += (i ? "," : "") + providers_[i]->address();
    return url;
  }

  std::shared_ptr<ClusterChannel> MakeChannel(ClusterChannelOptions o, std::string url = "") {
    auto ch = ClusterChannel::Create(url.empty() ? ListUrl() : url, kEchoService, std::move(o));
    EXPECT_TRUE(ch.ok()) << ch.status().ToString();
    if (!ch.ok()) return nullptr;
    EXPECT_TRUE((*ch)->WaitForProviders(1, 5s));
    return *ch;
  }

  // Provider i in address order.
  TestProvider& P(size_t i) { return *providers_[i]; }
  int TotalCalls() const {
    int n = 0;
    for (const auto& p : providers_) n += p->service.calls.load();
    return n;
  }
  void FailAll(Code code) {
    for (auto& p : providers_) p->service.fail_code = static_cast<int>(code);
  }
  void DelayAll(int ms) {
    for (auto& p : providers_) p->service.delay_ms = ms;
  }
  static ClusterMethodStatus MethodStatus(const ClusterChannel& ch, std::string_view method = "Echo") {
    for (auto& m : ch.Snapshot().methods)
      if (m.method == method) return m;
    return {};
  }

  std::vector<std::unique_ptr<TestProvider>> providers_;
};

}  // namespace dougong::cluster::testing
