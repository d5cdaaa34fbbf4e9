// In-process calls: a ChannelInterface that hands calls to the server's
// dispatch without a socket. Same admission, limits, hooks, deadlines,
// cancellation and statistics as the network front ends; what differs is
// only how the messages travel (copied or swapped instead of serialized).
#include <mutex>
#include <optional>
#include <typeinfo>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include "rpc/server_impl.h"

namespace asio = boost::asio;

namespace dougong::rpc {

namespace {

using Message = google::protobuf::Message;

constexpr std::string_view kInProcessPeer = "in-process";

// The caller's message into the server's, or the server's into the caller's.
// Same descriptor: CopyFrom, no serialization. Otherwise (a dynamic message
// of another pool, another generated class of the same name) the bytes.
Status Transfer(const Message& from, Message* to, std::string_view what) {
  if (from.GetDescriptor() == to->GetDescriptor()) {
    to->CopyFrom(from);
    return {};
  }
  std::string bytes;
  if (!from.SerializeToString(&bytes)) return InvalidArgument(fmt::format("{}: cannot serialize", what));
  if (!to->ParseFromString(bytes)) return InvalidArgument(fmt::format("{}: does not parse as {}", what, to->GetTypeName()));
  return {};
}

}  // namespace

namespace detail {

// One in-process call. Everything after admission runs on `io_` (the
// server's I/O thread chosen for it), so it needs no lock: the first of
// handler, deadline, cancel and stop completes it, the others find it done.
class InProcessCall : public std::enable_shared_from_this<InProcessCall> {
 public:
  InProcessCall(Server::Impl* server, MethodEntry* method, asio::io_context& io, ClientContext* ctx,
                Message* response)
      : server_(server),
        io_(io),
        call_(std::make_shared<ServerCall>(method, nullptr, kInProcessPeer)),
        ctx_(ctx),
        response_(response) {}

  const std::shared_ptr<ServerCall>& call() const { return call_; }
  asio::io_context& io() { return io_; }

  // Set before the call is registered: Stop may complete it from then on.
  void set_done(ChannelInterface::Done done) { done_ = std::move(done); }
  ChannelInterface::Done take_done() { return std::move(done_); }

  // Once admitted and registered: on io_, the deadline timer, the cancel
  // hook, then the handler.
  void Start() {
    asio::post(io_, [self = shared_from_this()] { self->StartOnIo(); });
  }

  // On io_. From the handler: its status, response and response fields go
  // to the caller. Otherwise the caller gets `st` and the handler, if it
  // runs, keeps its own messages.
  void Complete(Status st, bool from_handler) {
    if (completed_) return;
    completed_ = true;
    if (timer_) timer_.reset();  // cancels its wait
    ctx_->SetCancelHook(nullptr);
    if (from_handler) {
      ServerContext& sctx = call_->ctx();
      ctx_->mutable_response_metadata() = sctx.response_metadata();
      ctx_->set_response_attachment(sctx.response_attachment());
      if (st.ok()) st = TakeResponse();
    }
    server_->UnregisterInProcess(this);
    auto done = std::move(done_);
    done(std::move(st));
  }

 private:
  void StartOnIo() {
    if (completed_) {  // Stop aborted it before it started
      server_->Release(call_->method());
      server_->RecordRejected(call_->method(), Code::kUnavailable);
      return;
    }
    auto self = shared_from_this();
    if (call_->ctx().has_deadline()) {
      timer_.emplace(io_, call_->ctx().deadline());
      timer_->async_wait([self](boost::system::error_code ec) {
        if (ec) return;
        self->call_->Cancel(Code::kDeadlineExceeded);
        self->Complete(DeadlineExceeded("deadline exceeded (in-process call)"), false);
      });
    }
    bool hooked = ctx_->SetCancelHook([self] {
      asio::post(self->io_, [self] {
        self->call_->Cancel(Code::kCancelled);
        self->Complete(Cancelled("call cancelled by the caller"), false);
      });
    });
    if (!hooked) {  // cancelled before it started: the handler does not run
      server_->Release(call_->method());
      server_->RecordRejected(call_->method(), Code::kCancelled);
      Complete(Cancelled("call cancelled before it started"), false);
      return;
    }
    server_->Dispatch(call_, io_.get_executor(),
                      [self](const Server::Impl::CallPtr&, Status st) { self->Complete(std::move(st), true); });
  }

  Status TakeResponse() {
    Message* own = call_->response();
    if (own->GetDescriptor() == response_->GetDescriptor() && typeid(*own) == typeid(*response_)) {
      response_->GetReflection()->Swap(response_, own);
      return {};
    }
    return Transfer(*own, response_, "response");
  }

  Server::Impl* server_;
  asio::io_context& io_;
  std::shared_ptr<ServerCall> call_;
  ClientContext* ctx_;
  Message* response_;
  ChannelInterface::Done done_;
  std::optional<asio::steady_timer> timer_;
  bool completed_ = false;  // on io_
};

}  // namespace detail

namespace {

class InProcessChannelImpl : public ChannelInterface {
 public:
  explicit InProcessChannelImpl(Server::Impl* server) : server_(server) {}
  ~InProcessChannelImpl() override {
    std::unique_ptr<net::IoPool> errors;
    {
      std::lock_guard lock(mu_);
      errors = std::move(errors_);
    }
    if (errors) errors->Stop();  // outside mu_: a callback there may call again
  }

  void CallMethod(const MethodSpec& spec, ClientContext* ctx, const Message& request, Message* response,
                  Done done) override {
    Server::Impl& s = *server_;
    if (!s.running.load(std::memory_order_acquire)) {
      Fail(std::move(done), Unavailable("server is not serving"));
      return;
    }
    MethodEntry* method = s.FindMethod(spec.service, spec.method);
    if (!method) {
      Fail(std::move(done), Unimplemented(fmt::format("unknown method {}/{}", spec.service, spec.method)));
      return;
    }
    auto call = std::make_shared<detail::InProcessCall>(server_, method, s.io->Next(), ctx, response);
    detail::ServerCall& sc = *call->call();
    if (Status st = Transfer(request, sc.request(), "request"); !st.ok()) {
      s.RecordRejected(method, st.code());
      Fail(std::move(done), std::move(st));
      return;
    }
    if (ctx->timeout().count() > 0) sc.set_deadline_after(ctx->timeout());
    sc.mutable_request_metadata() = ctx->metadata();
    sc.set_request_attachment(ctx->attachment());
    sc.set_trace(ctx->trace());
    AdmissionInfo info{method->def.service, method->def.method, kInProcessPeer, sc.ctx().request_metadata()};
    if (Status st = s.Admit(method, info); !st.ok()) {
      Fail(std::move(done), std::move(st));
      return;
    }
    call->set_done(std::move(done));
    if (!s.RegisterInProcess(call)) {  // Stop already aborted the in-process calls
      s.Release(method);
      s.RecordRejected(method, Code::kUnavailable);
      Fail(call->take_done(), Unavailable("server is stopping"));
      return;
    }
    call->Start();
  }

 private:
  // `done` never runs inside CallMethod (callers may hold locks there), and
  // the server's I/O threads may be stopped: errors go to a thread of ours.
  void Fail(Done done, Status st) {
    std::lock_guard lock(mu_);
    if (!errors_) {
      errors_ = std::make_unique<net::IoPool>(1);
      errors_->Start();
    }
    asio::post(errors_->at(0), [done = std::move(done), st = std::move(st)]() mutable { done(std::move(st)); });
  }

  Server::Impl* server_;
  std::mutex mu_;
  std::unique_ptr<net::IoPool> errors_;  // made at the first error
};

}  // namespace

bool Server::Impl::RegisterInProcess(const std::shared_ptr<detail::InProcessCall>& call) {
  std::lock_guard lock(inproc_mu);
  if (inproc_aborted) return false;
  inproc_calls.emplace(call.get(), call);
  return true;
}

void Server::Impl::UnregisterInProcess(detail::InProcessCall* call) {
  {
    std::lock_guard lock(inproc_mu);
    inproc_calls.erase(call);
  }
  if (stopping.load(std::memory_order_acquire)) {
    std::lock_guard lock(state_mu);
    state_cv.notify_all();
  }
}

bool Server::Impl::NothingInFlight() {
  if (!AllConnectionsClosed()) return false;
  std::lock_guard lock(inproc_mu);
  return inproc_calls.empty();
}

void Server::Impl::AbortInProcessCalls() {
  std::vector<std::shared_ptr<detail::InProcessCall>> calls;
  {
    std::lock_guard lock(inproc_mu);
    inproc_aborted = true;
    for (auto& [ptr, call] : inproc_calls) calls.push_back(call);
  }
  for (auto& c : calls) {
    net::RunAndWait(c->io(), [&c] {
      c->call()->Cancel(Code::kCancelled);
      c->Complete(Unavailable("server stopped before the call finished"), false);
    });
  }
}

std::shared_ptr<ChannelInterface> Server::InProcessChannel() {
  std::lock_guard lock(impl_->state_mu);
  if (!impl_->inproc_channel) impl_->inproc_channel = std::make_shared<InProcessChannelImpl>(impl_.get());
  return impl_->inproc_channel;
}

}  // namespace dougong::rpc
