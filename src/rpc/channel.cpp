#include "dougong/rpc/channel.h"

#include <condition_variable>
#include <mutex>
#include <random>
#include <vector>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <google/protobuf/message.h>

#include "net/io_pool.h"
#include "rpc/client_connection.h"

namespace asio = boost::asio;

namespace dougong::rpc {

// ---- Blocking and coroutine forms, shared by every channel kind ----

Status ChannelInterface::Call(const MethodSpec& method, ClientContext* ctx, const Message& request,
                              Message* response) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  } w;
  CallMethod(method, ctx, request, response, [&w](Status st) {
    std::lock_guard lock(w.mu);
    w.status = std::move(st);
    w.done = true;
    w.cv.notify_one();  // under the lock: w may vanish once it is released
  });
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&w] { return w.done; });
  return std::move(w.status);
}

Awaitable<Status> ChannelInterface::CoCall(const MethodSpec& method, ClientContext* ctx, const Message& request,
                                           Message* response) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [this, &method, ctx, &request, response](auto handler) {
        using Handler = decltype(handler);
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto executor = asio::get_associated_executor(handler);
        if (slot.is_connected()) slot.assign([ctx](asio::cancellation_type) { ctx->Cancel(); });
        auto shared = std::make_shared<Handler>(std::move(handler));
        CallMethod(method, ctx, request, response, [shared, executor](Status st) {
          // Resume the coroutine on its own executor, not the I/O thread.
          asio::post(executor, [shared, st = std::move(st)]() mutable {
            auto slot = asio::get_associated_cancellation_slot(*shared);
            if (slot.is_connected()) slot.clear();
            std::move(*shared)(std::move(st));
          });
        });
      },
      asio::use_awaitable);
}

// ---- Shared I/O threads ----

struct ChannelThreads::Impl {
  explicit Impl(int threads) : pool(std::make_shared<net::IoPool>(std::max(1, threads))) { pool->Start(); }
  std::shared_ptr<net::IoPool> pool;
};

std::shared_ptr<ChannelThreads> ChannelThreads::Create(int threads) {
  return std::make_shared<ChannelThreads>(std::make_unique<Impl>(threads));
}
ChannelThreads::ChannelThreads(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChannelThreads::~ChannelThreads() { impl_->pool->Stop(); }
int ChannelThreads::size() const { return impl_->pool->size(); }

// ---- Channel: native protocol to one host:port ----

struct Channel::Impl {
  struct Slot {
    std::shared_ptr<ClientConnection> conn;
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds backoff{0};
    Status last_error;
  };

  // What a connection's connect callback reaches the channel through: the
  // channel clears it when destroyed. With an own pool that is belt and
  // braces (the pool is joined first); with shared threads a connection's
  // last callback may run after the channel is gone.
  struct Link {
    std::mutex mu;
    Impl* impl = nullptr;
  };

  Impl(std::string target, std::string host, std::string port, ChannelOptions opts)
      : target(std::move(target)),
        host(std::move(host)),
        port(std::move(port)),
        options(std::move(opts)),
        io(options.threads ? options.threads->impl().pool
                           : std::make_shared<net::IoPool>(std::max(1, options.io_threads))),
        owns_io(!options.threads),
        slots(options.connection_type == ChannelOptions::ConnectionType::kPooled ? std::max(1, options.pool_size)
                                                                                 : 1),
        rng(std::random_device{}()),
        link(std::make_shared<Link>()),
        threads(std::move(options.threads)) {
    // Connections copy the options: they must not own the shared threads,
    // or the last of them could end on one of those threads and join it.
    link->impl = this;
    if (owns_io) io->Start();
  }

  ~Impl() {
    std::vector<std::shared_ptr<ClientConnection>> conns;
    {
      std::lock_guard lock(mu);
      for (auto& s : slots)
        if (s.conn) conns.push_back(std::move(s.conn));
    }
    // Pending calls complete (CANCELLED) before the threads stop; after the
    // join no callback touches *this.
    for (auto& c : conns) c->Shutdown(Cancelled("channel destroyed"));
    {
      std::lock_guard lock(link->mu);
      link->impl = nullptr;
    }
    if (owns_io) io->Stop();
  }

  // Exponential backoff with jitter after a failed connection attempt.
  void OnConnectResult(size_t index, const ClientConnection* conn, const Status& st) {
    std::lock_guard lock(mu);
    Slot& s = slots[index];
    if (s.conn.get() != conn) return;
    if (st.ok()) {
      s.backoff = std::chrono::milliseconds(0);
      s.last_error = Status();
      return;
    }
    auto base = s.backoff.count() == 0
                    ? options.backoff_initial
                    : std::chrono::milliseconds(static_cast<int64_t>(s.backoff.count() * options.backoff_multiplier));
    s.backoff = std::min(base, options.backoff_max);
    std::uniform_real_distribution<double> jitter(1.0 - options.backoff_jitter, 1.0 + options.backoff_jitter);
    auto wait = std::chrono::milliseconds(static_cast<int64_t>(s.backoff.count() * jitter(rng)));
    s.next_attempt = std::chrono::steady_clock::now() + wait;
    s.last_error = st;
  }

  Result<std::shared_ptr<ClientConnection>> Pick() {
    if (options.connection_type == ChannelOptions::ConnectionType::kShort) {
      auto conn = Make(0, true);
      conn->Connect();
      return conn;
    }
    size_t index = slots.size() == 1 ? 0 : next.fetch_add(1, std::memory_order_relaxed) % slots.size();
    std::shared_ptr<ClientConnection> conn;
    {
      std::lock_guard lock(mu);
      Slot& s = slots[index];
      if (s.conn && s.conn->usable()) return s.conn;
      if (s.conn && s.conn->state() == ClientConnection::State::kClosed && !s.last_error.ok() &&
          std::chrono::steady_clock::now() < s.next_attempt) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(s.next_attempt -
                                                                           std::chrono::steady_clock::now());
        return Status(Code::kUnavailable,
                      fmt::format("{} (next attempt in {} ms)", s.last_error.message(), left.count()));
      }
      s.conn = Make(index, false);
      conn = s.conn;
    }
    conn->Connect();
    return conn;
  }

  std::shared_ptr<ClientConnection> Make(size_t index, bool short_lived) {
    auto holder = std::make_shared<const ClientConnection*>(nullptr);
    auto conn = std::make_shared<ClientConnection>(
        io->Next(), host, port, options, short_lived,
        [link = link, index, holder, short_lived](const Status& st) {
          if (short_lived) return;
          std::lock_guard lock(link->mu);
          if (link->impl) link->impl->OnConnectResult(index, *holder, st);
        });
    *holder = conn.get();
    return conn;
  }

  std::string target;
  std::string host;
  std::string port;
  ChannelOptions options;
  std::shared_ptr<net::IoPool> io;
  bool owns_io;
  std::mutex mu;
  std::vector<Slot> slots;
  std::atomic<size_t> next{0};
  std::mt19937_64 rng;
  std::shared_ptr<Link> link;
  std::shared_ptr<ChannelThreads> threads;  // keeps shared threads running
};

Result<std::shared_ptr<Channel>> Channel::Create(std::string_view target, ChannelOptions options) {
  auto colon = target.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == target.size())
    return InvalidArgument(fmt::format("target '{}' is not host:port", target));
  std::string host(target.substr(0, colon));
  std::string port(target.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  for (char c : port)
    if (c < '0' || c > '9') return InvalidArgument(fmt::format("bad port in target '{}'", target));
  if (port.size() > 5 || std::stoi(port) > 65535) return InvalidArgument(fmt::format("bad port in target '{}'", target));
  return std::make_shared<Channel>(
      std::make_unique<Impl>(std::string(target), std::move(host), std::move(port), std::move(options)));
}

Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Channel::~Channel() = default;

const std::string& Channel::target() const { return impl_->target; }

void Channel::CallMethod(const MethodSpec& method, ClientContext* ctx, const Message& request, Message* response,
                         Done done) {
  // Failures before the call reaches a connection complete on an I/O thread
  // too, as promised, never inside the caller's CallMethod.
  auto fail = [this](Done& d, Status st) {
    asio::post(impl_->io->Next(), [d = std::move(d), st = std::move(st)]() mutable { d(std::move(st)); });
  };
  auto picked = impl_->Pick();
  if (!picked.ok()) {
    fail(done, picked.status());
    return;
  }
  auto& conn = *picked;
  auto call = std::make_unique<PendingCall>();
  call->id = conn->NextId();
  call->ctx = ctx;
  call->response = response;
  call->done = std::move(done);

  wire::RpcMeta meta;
  meta.set_correlation_id(call->id);
  meta.set_service(method.service.data(), method.service.size());
  meta.set_method(method.method.data(), method.method.size());
  auto timeout = ctx->timeout().count() > 0 ? ctx->timeout() : impl_->options.timeout;
  if (timeout.count() > 0) {
    meta.set_timeout_us(static_cast<uint64_t>(timeout.count()) * 1000);
    call->deadline = PendingCall::Clock::now() + timeout;
  }
  for (const auto& [k, v] : ctx->metadata()) {
    auto* kv = meta.add_metadata();
    kv->set_key(k);
    kv->set_value(v);
  }
  const TraceContext& t = ctx->trace();
  if (t.trace_id || t.trace_id_high) {
    auto* tr = meta.mutable_trace();
    tr->set_trace_id_high(t.trace_id_high);
    tr->set_trace_id(t.trace_id);
    tr->set_span_id(t.span_id);
    tr->set_parent_span_id(t.parent_span_id);
    tr->set_sampled(t.sampled);
  }
  meta.set_compression(static_cast<int>(ctx->compression()));
  OutgoingFrame frame;
  // Serialize on the caller's thread, off the I/O thread.
  if (Status st = BuildFrame(FrameType::kRequest, meta, &request, ctx->attachment(), impl_->options.max_frame_size,
                             &frame);
      !st.ok()) {
    fail(call->done, std::move(st));
    return;
  }
  conn->StartCall(std::move(call), std::move(frame));
}

}  // namespace dougong::rpc
