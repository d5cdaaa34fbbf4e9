// Shared fixtures for the RPC integration tests: a test service whose
// handlers record what they saw, a server on a loopback port, raw sockets
// for speaking bad bytes, and waiting on conditions instead of sleeping.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <gtest/gtest.h>

#include "dougong/rpc/channel.h"
#include "dougong/rpc/server.h"
#include "test_service.dougong.h"

namespace dougong::testing {

// Waits (polling a condition, bounded) for something another thread does.
inline bool WaitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

class TestServiceImpl : public test::TestServiceBase {
 public:
  TestServiceImpl() { (void)SetHandlerMode("CoroWork", rpc::HandlerMode::kCoroutine); }

  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<int> saw_cancel{0};
  std::atomic<int> running{0};

  Status Work(rpc::ServerContext& ctx, const test::WorkRequest& req, test::WorkResponse* resp) override {
    ++started;
    ++running;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.sleep_ms());
    // Simulated work that notices cancellation.
    while (std::chrono::steady_clock::now() < until) {
      if (ctx.IsCanceled()) {
        ++saw_cancel;
        --running;
        return Cancelled("handler saw cancellation");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    --running;
    ++finished;
    return Fill(ctx, req, resp);
  }

  rpc::Awaitable<Status> CoCoroWork(rpc::ServerContext& ctx, const test::WorkRequest& req,
                                    test::WorkResponse* resp) override {
    ++started;
    if (req.sleep_ms() > 0) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
      timer.expires_after(std::chrono::milliseconds(req.sleep_ms()));
      boost::system::error_code ec;
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec || ctx.IsCanceled()) {
        ++saw_cancel;
        co_return Cancelled("handler saw cancellation");
      }
    }
    ++finished;
    co_return Fill(ctx, req, resp);
  }

 private:
  static Status Fill(rpc::ServerContext& ctx, const test::WorkRequest& req, test::WorkResponse* resp) {
    if (req.fail_code() != 0) return Status(CodeFromInt(req.fail_code()), req.fail_message());
    resp->set_text(req.text());
    resp->set_blob(req.blob());
    resp->set_remaining_ms(ctx.has_deadline()
                               ? std::chrono::duration_cast<std::chrono::milliseconds>(ctx.remaining()).count()
                               : -1);
    for (const auto& [k, v] : ctx.request_metadata()) ctx.AddResponseMetadata(k, "echo:" + v);
    ctx.set_response_attachment(ctx.request_attachment());
    return {};
  }
};

struct TestServer {
  explicit TestServer(rpc::ServerOptions options = {}) : server(FillDefaults(options)) {
    EXPECT_TRUE(server.AddService(&service).ok());
    Status st = server.Start("127.0.0.1:0");
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  static rpc::ServerOptions FillDefaults(rpc::ServerOptions o) {
    if (o.io_threads == 0) o.io_threads = 2;
    if (o.worker_threads == 0) o.worker_threads = 4;
    return o;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server.port()); }
  std::shared_ptr<rpc::Channel> Channel(rpc::ChannelOptions o = {}) {
    auto ch = rpc::Channel::Create(address(), o);
    EXPECT_TRUE(ch.ok());
    return *ch;
  }

  TestServiceImpl service;
  rpc::Server server;
};

// A plain blocking socket, for sending bytes no well-behaved client would.
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until the peer closes or `limit` passes; returns what arrived and
  // sets *closed when the peer closed.
  std::string ReadUntilClosed(std::chrono::milliseconds limit, bool* closed) {
    std::string out;
    *closed = false;
    auto until = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        *closed = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  // Reads until `pattern` appears in what arrived (or the limit passes).
  std::string ReadUntil(std::string_view pattern, std::chrono::milliseconds limit) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (out.find(pattern) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace dougong::testing
