#include "dougong/rpc/server.h"

#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <spdlog/spdlog.h>

#include "dougong/base/result.h"
#include "rpc/reflection_service.h"
#include "rpc/server_impl.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace dougong::rpc {

namespace detail {

ServerCall::ServerCall(MethodEntry* method, std::shared_ptr<void> connection, std::string_view peer)
    : method_(method),
      connection_(std::move(connection)),
      request_(method->def.request_prototype->New()),
      response_(method->def.response_prototype->New()),
      start_(Clock::now()) {
  ctx_.service_ = method->def.service;
  ctx_.method_ = method->def.method;
  ctx_.peer_ = peer;
}

void ServerCall::Cancel(Code reason) {
  if (ctx_.canceled_.exchange(true, std::memory_order_acq_rel)) return;
  cancel_reason_ = reason == Code::kDeadlineExceeded ? reason : Code::kCancelled;
  cancel_signal_.emit(asio::cancellation_type::terminal);
}

}  // namespace detail

Server::Impl::Impl(ServerOptions opts) : options(std::move(opts)) {}

MethodEntry* Server::Impl::FindMethod(std::string_view service, std::string_view method) const {
  auto s = table.find(service);
  if (s == table.end()) return nullptr;
  auto m = s->second.find(method);
  return m == s->second.end() ? nullptr : m->second;
}

void Server::Impl::RecordRejected(MethodEntry* method, Code code) {
  if (method) method->stats.by_code[static_cast<int>(code)].fetch_add(1, std::memory_order_relaxed);
}

Status Server::Impl::Admit(MethodEntry* method, const AdmissionInfo& info) {
  if (stopping.load(std::memory_order_acquire)) {
    RecordRejected(method, Code::kUnavailable);
    return Unavailable("server is stopping");
  }
  uint64_t server_now = inflight.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (options.max_concurrency && server_now > options.max_concurrency) {
    inflight.fetch_sub(1, std::memory_order_acq_rel);
    RecordRejected(method, Code::kResourceExhausted);
    return ResourceExhausted(fmt::format("server concurrency limit {} reached", options.max_concurrency));
  }
  uint64_t method_now = method->stats.inflight.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (method->max_concurrency && method_now > method->max_concurrency) {
    method->stats.inflight.fetch_sub(1, std::memory_order_acq_rel);
    inflight.fetch_sub(1, std::memory_order_acq_rel);
    RecordRejected(method, Code::kResourceExhausted);
    return ResourceExhausted(
        fmt::format("concurrency limit {} of {} reached", method->max_concurrency, method->full_name));
  }
  for (const AdmissionHook& hook : admission_hooks) {
    Status st;
    try {
      st = hook(info);
    } catch (const std::exception& e) {
      st = Internal(fmt::format("admission hook threw: {}", e.what()));
    } catch (...) {
      st = Internal("admission hook threw");
    }
    if (!st.ok()) {
      Release(method);
      RecordRejected(method, st.code());
      return st;
    }
  }
  return {};
}

void Server::Impl::Release(MethodEntry* method) {
  method->stats.inflight.fetch_sub(1, std::memory_order_acq_rel);
  inflight.fetch_sub(1, std::memory_order_acq_rel);
}

void Server::Impl::Dispatch(const CallPtr& call, asio::any_io_executor executor, Done done) {
  auto finish = [this, call, done = std::move(done)](Status st) {
    MethodEntry* m = call->method();
    // A client whose deadline passed cancels the call; count it as what it is.
    if (st.code() == Code::kCancelled &&
        (call->cancel_reason() == Code::kDeadlineExceeded ||
         (call->ctx().has_deadline() && call->ctx().remaining().count() == 0)))
      st = DeadlineExceeded("deadline exceeded: " + st.message());
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        detail::ServerCall::Clock::now() - call->start_time());
    m->stats.latency.Record(static_cast<uint64_t>(elapsed.count()));
    m->stats.by_code[static_cast<int>(st.code())].fetch_add(1, std::memory_order_relaxed);
    m->stats.inflight.fetch_sub(1, std::memory_order_acq_rel);
    inflight.fetch_sub(1, std::memory_order_acq_rel);
    done(call, std::move(st));
  };

  // A request whose deadline passed before its handler started is not run.
  auto expired = [](detail::ServerCall& c) {
    return c.ctx().has_deadline() && c.ctx().remaining().count() == 0;
  };
  const MethodDef& def = call->method()->def;
  if (def.mode == HandlerMode::kCoroutine && expired(*call)) {
    finish(DeadlineExceeded("deadline passed before the handler started"));
    return;
  }
  if (def.mode == HandlerMode::kCoroutine) {
    auto& slot_signal = call->cancel_signal();
    // The response is finished inside the coroutine, so it is written before
    // co_spawn's own completion is scheduled.
    asio::co_spawn(
        executor,
        [call, finish = std::move(finish)]() mutable -> asio::awaitable<void> {
          Status st;
          try {
            st = co_await call->method()->def.coroutine(call->ctx(), *call->request(), call->response());
          } catch (const std::exception& e) {
            st = Internal(fmt::format("handler threw: {}", e.what()));
          } catch (...) {
            st = Internal("handler threw");
          }
          finish(std::move(st));
        },
        asio::bind_cancellation_slot(slot_signal.slot(), asio::detached));
    return;
  }
  asio::post(*workers, [call, executor, expired, finish = std::move(finish)]() mutable {
    Status st;
    if (expired(*call)) {
      st = DeadlineExceeded("deadline passed before the handler started");
    } else if (call->canceled()) {
      st = Cancelled("call cancelled before the handler started");
    } else {
      try {
        st = call->method()->def.blocking(call->ctx(), *call->request(), call->response());
      } catch (const std::exception& e) {
        st = Internal(fmt::format("handler threw: {}", e.what()));
      } catch (...) {
        st = Internal("handler threw");
      }
    }
    asio::post(executor, [finish = std::move(finish), st = std::move(st)]() mutable { finish(std::move(st)); });
  });
}

void Server::Impl::AddConnection(const std::shared_ptr<ConnectionBase>& c) {
  std::lock_guard lock(conn_mu);
  connections.emplace(c.get(), c);
}

void Server::Impl::RemoveConnection(ConnectionBase* c) {
  {
    std::lock_guard lock(conn_mu);
    connections.erase(c);
  }
  if (stopping.load(std::memory_order_acquire)) {
    std::lock_guard lock(state_mu);
    state_cv.notify_all();
  }
}

bool Server::Impl::AllConnectionsClosed() {
  std::lock_guard lock(conn_mu);
  return connections.empty();
}

void Server::Impl::AcceptLoop() {
  acceptor->async_accept(io->Next(), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      size_t open;
      {
        std::lock_guard lock(conn_mu);
        open = connections.size();
      }
      if (open >= options.max_connections) {
        rejected_connections.fetch_add(1, std::memory_order_relaxed);
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        connections_total.fetch_add(1, std::memory_order_relaxed);
        socket.set_option(tcp::no_delay(true), ec);
        auto exec = socket.get_executor();
        asio::dispatch(exec, [this, s = std::move(socket)]() mutable { StartServerConnection(this, std::move(s)); });
      }
    } else {
      // Out of descriptors (or another transient failure): pause briefly
      // instead of spinning on an accept that keeps failing.
      if (ec == asio::error::no_descriptors) spdlog::warn("accept: out of file descriptors");
      accept_retry->expires_after(std::chrono::milliseconds(10));
      accept_retry->async_wait([this](boost::system::error_code wec) {
        if (!wec && acceptor->is_open()) AcceptLoop();
      });
      return;
    }
    AcceptLoop();
  });
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  Stop(std::chrono::milliseconds(0));
  // Destroy the I/O contexts (and the handlers they hold) before the rest of
  // Impl, which those handlers may still point to.
  impl_->accept_retry.reset();
  impl_->acceptor.reset();
  impl_->io.reset();
}

Status Server::AddService(Service* service) {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->started) return FailedPrecondition("AddService after Start");
  return impl_->AddServiceLocked(service);
}

Status Server::Impl::AddServiceLocked(Service* service) {
  Impl* impl = this;
  for (const MethodDef& def : service->methods()) {
    if (impl->FindMethod(def.service, def.method))
      return {Code::kAlreadyExists, fmt::format("method {}/{} already registered", def.service, def.method)};
  }
  for (const MethodDef& def : service->methods()) {
    MethodEntry& e = impl->methods.emplace_back();
    e.def = def;
    e.full_name = def.service + "/" + def.method;
    impl->table[def.service][def.method] = &e;
  }
  impl->services.push_back(service);
  return {};
}

namespace {
// Hooks are fixed once the server starts, so the calls read them unlocked.
template <class Hook>
Status AddBeforeStart(Server::Impl& impl, std::vector<Hook>& hooks, Hook hook, std::string_view what) {
  std::lock_guard lock(impl.state_mu);
  if (impl.started) return FailedPrecondition(fmt::format("{} after Start", what));
  if (!hook) return InvalidArgument(fmt::format("{}: empty hook", what));
  hooks.push_back(std::move(hook));
  return {};
}
}  // namespace

Status Server::AddAdmissionHook(AdmissionHook hook) {
  return AddBeforeStart(*impl_, impl_->admission_hooks, std::move(hook), "AddAdmissionHook");
}
Status Server::OnServing(std::function<void()> hook) {
  return AddBeforeStart(*impl_, impl_->serving_hooks, std::move(hook), "OnServing");
}
Status Server::OnStopping(std::function<void()> hook) {
  return AddBeforeStart(*impl_, impl_->stopping_hooks, std::move(hook), "OnStopping");
}

std::vector<const Service*> Server::services() const {
  std::lock_guard lock(impl_->state_mu);
  std::vector<const Service*> out;
  for (const Service* s : impl_->services)
    if (s != impl_->reflection.get()) out.push_back(s);
  return out;
}

bool Server::HasService(std::string_view service) const {
  std::lock_guard lock(impl_->state_mu);
  for (const Service* s : impl_->services)
    if (s != impl_->reflection.get() && s->GetDescriptor()->full_name() == service) return true;
  return false;
}

bool Server::serving() const {
  return impl_->running.load(std::memory_order_acquire) && !impl_->stopping.load(std::memory_order_acquire);
}

std::string Server::listen_address() const {
  std::lock_guard lock(impl_->state_mu);
  return impl_->listen_address;
}

Status Server::SetMethodMaxConcurrency(std::string_view full_method, size_t limit) {
  for (auto& e : impl_->methods) {
    if (e.full_name == full_method) {
      e.max_concurrency = limit;
      return {};
    }
  }
  return NotFound(fmt::format("no method {}", full_method));
}

namespace {
Result<tcp::endpoint> ParseListenAddress(std::string_view address) {
  std::string host;
  std::string_view port_str = address;
  if (auto colon = address.rfind(':'); colon != std::string_view::npos) {
    host = std::string(address.substr(0, colon));
    port_str = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (port_str.empty()) return InvalidArgument(fmt::format("no port in address '{}'", address));
  for (char c : port_str) {
    if (c < '0' || c > '9') return InvalidArgument(fmt::format("bad port in address '{}'", address));
    port = port * 10 + (c - '0');
    if (port > 65535) return InvalidArgument(fmt::format("port out of range in '{}'", address));
  }
  if (host.empty() || host == "*") return tcp::endpoint(tcp::v4(), static_cast<uint16_t>(port));
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument(fmt::format("bad listen host '{}': expected an IP address", host));
  return tcp::endpoint(ip, static_cast<uint16_t>(port));
}
}  // namespace

Status Server::Start(std::string_view address) {
  auto endpoint = ParseListenAddress(address);
  if (!endpoint.ok()) return endpoint.status();
  if (Status st = impl_->Listen(*endpoint, address); !st.ok()) return st;
  // Outside state_mu: a hook may call back into the server (services(),
  // listen_address()) and may block (a registry round trip).
  for (const auto& hook : impl_->serving_hooks) hook();
  return {};
}

Status Server::Impl::Listen(const tcp::endpoint& endpoint, std::string_view address) {
  Impl* impl_ = this;
  std::lock_guard lock(impl_->state_mu);
  if (impl_->started) return FailedPrecondition("server already started");
  if (impl_->options.enable_reflection && !impl_->reflection) {
    impl_->reflection = MakeReflectionService(&impl_->services);
    if (Status st = impl_->AddServiceLocked(impl_->reflection.get()); !st.ok()) return st;
  }
  auto& o = impl_->options;
  impl_->io = std::make_unique<net::IoPool>(o.io_threads);
  int workers = o.worker_threads > 0 ? o.worker_threads : std::max(4, 2 * net::DefaultThreads());
  impl_->workers = std::make_unique<asio::thread_pool>(workers);
  impl_->acceptor = std::make_unique<tcp::acceptor>(impl_->io->at(0));
  impl_->accept_retry = std::make_unique<asio::steady_timer>(impl_->io->at(0));
  boost::system::error_code ec;
  auto& acc = *impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    // The timer and the acceptor belong to the I/O contexts: go first.
    impl_->accept_retry.reset();
    impl_->acceptor.reset();
    impl_->io.reset();
    impl_->workers.reset();
    return Unavailable(fmt::format("cannot listen on {}: {}", address, ec.message()));
  }
  auto local = acc.local_endpoint();
  impl_->port = local.port();
  impl_->listen_address = local.address().is_v6()
                              ? fmt::format("[{}]:{}", local.address().to_string(), local.port())
                              : fmt::format("{}:{}", local.address().to_string(), local.port());
  impl_->started = true;
  impl_->started_at = std::chrono::steady_clock::now();
  impl_->AcceptLoop();
  impl_->io->Start();
  impl_->running.store(true, std::memory_order_release);
  return {};
}

int Server::port() const { return impl_->port; }

void Server::Stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(impl_->state_mu);
    if (!impl_->started || impl_->stopped) return;
  }
  if (impl_->stop_started.exchange(true)) {
    Wait();
    return;
  }
  // 0. While still serving: the stopping hooks (deregistration), so
  // consumers stop choosing this server before it refuses calls.
  for (const auto& hook : impl_->stopping_hooks) hook();
  impl_->stopping.store(true, std::memory_order_release);
  // 1. Stop accepting.
  asio::post(impl_->io->at(0), [this] {
    boost::system::error_code ec;
    impl_->acceptor->close(ec);
    impl_->accept_retry->cancel();
  });
  // 2. Tell every connection to go away (native clients stop sending).
  auto snapshot = [this] {
    std::vector<std::shared_ptr<ConnectionBase>> out;
    std::lock_guard lock(impl_->conn_mu);
    for (auto& [ptr, weak] : impl_->connections)
      if (auto c = weak.lock()) out.push_back(std::move(c));
    return out;
  };
  for (auto& c : snapshot()) asio::post(c->executor(), [c] { c->GoAway(); });
  // 3. Drain up to the grace period: each connection closes itself once its
  // in-flight requests are answered and the answers written; in-process
  // calls leave when answered.
  {
    std::unique_lock lock(impl_->state_mu);
    impl_->state_cv.wait_for(lock, grace, [this] { return impl_->NothingInFlight(); });
  }
  impl_->AbortInProcessCalls();
  // 4. Close what is left and stop the threads.
  // Closing cancels what is still running; wait until each connection has
  // closed on its own thread before the threads stop.
  for (auto& c : snapshot()) {
    std::promise<void> closed;
    asio::post(c->executor(), [&] {
      c->Close();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  impl_->workers->join();
  impl_->io->Stop();
  {
    std::lock_guard lock(impl_->state_mu);
    impl_->connections.clear();
    impl_->stopped = true;
  }
  impl_->state_cv.notify_all();
}

void Server::Wait() {
  std::unique_lock lock(impl_->state_mu);
  impl_->state_cv.wait(lock, [this] { return impl_->stopped || !impl_->started; });
}

}  // namespace dougong::rpc
