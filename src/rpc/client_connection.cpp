#include "rpc/client_connection.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "net/io_pool.h"
#include "rpc/compression.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace dougong::rpc {

ClientConnection::ClientConnection(asio::io_context& io, std::string host, std::string port,
                                   const ChannelOptions& options, bool close_when_idle, ConnectResult on_connect)
    : io_(io),
      host_(std::move(host)),
      port_(std::move(port)),
      options_(options),
      close_when_idle_(close_when_idle),
      on_connect_(std::move(on_connect)),
      socket_(io),
      resolver_(io),
      connect_timer_(io),
      deadline_timer_(io),
      heartbeat_timer_(io),
      writer_(socket_),
      reader_(options.max_frame_size) {
  writer_.Pause();
  writer_.set_on_error([this](boost::system::error_code ec) {
    Fail(Unavailable(fmt::format("write to {}:{} failed: {}", host_, port_, ec.message())));
  });
  writer_.set_on_drained([this] { MaybeCloseWhenIdle(); });
}

ClientConnection::~ClientConnection() = default;

void ClientConnection::Connect() {
  asio::dispatch(io_, [self = shared_from_this()] {
    auto* c = self.get();
    c->connect_timer_.expires_after(c->options_.connect_timeout);
    c->connect_timer_.async_wait([self](boost::system::error_code ec) {
      if (ec || self->state() != State::kConnecting) return;
      self->Fail(DeadlineExceeded(fmt::format("connect to {}:{} timed out after {} ms", self->host_, self->port_,
                                              self->options_.connect_timeout.count())));
    });
    // Resolved once per connection attempt, never per call.
    c->resolver_.async_resolve(
        c->host_, c->port_, [self](boost::system::error_code ec, tcp::resolver::results_type results) {
          if (self->state() != State::kConnecting) return;
          if (ec) {
            self->Fail(Unavailable(fmt::format("cannot resolve {}: {}", self->host_, ec.message())));
            return;
          }
          asio::async_connect(self->socket_, results, [self](boost::system::error_code ec, const tcp::endpoint&) {
            if (self->state() != State::kConnecting) return;
            if (ec) {
              self->Fail(
                  Unavailable(fmt::format("cannot connect to {}:{}: {}", self->host_, self->port_, ec.message())));
              return;
            }
            self->OnConnected();
          });
        });
  });
}

void ClientConnection::OnConnected() {
  connect_timer_.cancel();
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  state_.store(State::kConnected, std::memory_order_release);
  last_read_ = Clock::now();
  if (on_connect_) on_connect_(Status());
  writer_.Resume(shared_from_this());
  asio::co_spawn(io_, [self = shared_from_this()] { return self->ReadLoop(); }, asio::detached);
  ArmHeartbeat();
}

void ClientConnection::Fail(Status why) {
  State prev = state_.exchange(State::kClosed, std::memory_order_acq_rel);
  if (prev == State::kClosed) return;
  if (prev == State::kConnecting && on_connect_) on_connect_(why);
  writer_.Stop();
  boost::system::error_code ec;
  resolver_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  connect_timer_.cancel();
  deadline_timer_.cancel();
  heartbeat_timer_.cancel();
  auto calls = std::move(calls_);
  calls_.clear();
  deadlines_.clear();
  for (auto& [id, call] : calls) Complete(std::move(call), why);
}

void ClientConnection::Shutdown(Status why) {
  auto self = shared_from_this();
  net::RunAndWait(io_, [&] { Fail(std::move(why)); });
}

void ClientConnection::StartCall(std::unique_ptr<PendingCall> call, OutgoingFrame frame) {
  if (io_.get_executor().running_in_this_thread()) {
    RegisterCall(std::move(call), std::move(frame));
    return;
  }
  // std::function needs copyable state: hand the move-only parts over raw.
  auto* raw = call.release();
  auto* f = new OutgoingFrame(std::move(frame));
  asio::post(io_, [self = shared_from_this(), raw, f] {
    std::unique_ptr<OutgoingFrame> frame(f);
    self->RegisterCall(std::unique_ptr<PendingCall>(raw), std::move(*frame));
  });
}

void ClientConnection::RegisterCall(std::unique_ptr<PendingCall> call, OutgoingFrame frame) {
  State s = state();
  if (s == State::kClosed || s == State::kDraining) {
    Complete(std::move(call), Unavailable(fmt::format("connection to {}:{} is closed", host_, port_)));
    return;
  }
  uint64_t id = call->id;
  std::weak_ptr<ClientConnection> weak = weak_from_this();
  bool live = call->ctx->SetCancelHook([weak, id, this] {
    if (auto self = weak.lock())
      asio::dispatch(io_, [self, id] { self->CancelCall(id, Cancelled("call cancelled by the client"), true); });
  });
  if (!live) {
    Complete(std::move(call), Cancelled("call cancelled by the client"));
    return;
  }
  had_call_ = true;
  if (call->deadline != Clock::time_point::max()) {
    call->deadline_it = deadlines_.emplace(call->deadline, id);
    if (call->deadline < armed_deadline_) ArmDeadlineTimer();
  } else {
    call->deadline_it = deadlines_.end();
  }
  calls_.emplace(id, std::move(call));
  writer_.Enqueue(std::move(frame), shared_from_this());
}

void ClientConnection::Complete(std::unique_ptr<PendingCall> call, Status st) {
  call->ctx->SetCancelHook(nullptr);
  auto done = std::move(call->done);
  call.reset();
  done(std::move(st));
}

void ClientConnection::CancelCall(uint64_t id, Status why, bool tell_server) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  auto call = std::move(it->second);
  calls_.erase(it);
  if (call->deadline_it != deadlines_.end()) deadlines_.erase(call->deadline_it);
  if (tell_server && state() == State::kConnected) {
    wire::RpcMeta meta;
    meta.set_correlation_id(id);
    meta.set_status_code(static_cast<int>(why.code()));  // why: cancelled or deadline
    writer_.Enqueue(BuildControlFrame(FrameType::kCancel, &meta), shared_from_this());
  }
  Complete(std::move(call), std::move(why));
  MaybeCloseWhenIdle();
}

void ClientConnection::ArmDeadlineTimer() {
  if (deadlines_.empty()) {
    armed_deadline_ = Clock::time_point::max();
    deadline_timer_.cancel();
    return;
  }
  armed_deadline_ = deadlines_.begin()->first;
  deadline_timer_.expires_at(armed_deadline_);
  deadline_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->OnDeadlineTimer();
  });
}

void ClientConnection::OnDeadlineTimer() {
  auto now = Clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    uint64_t id = deadlines_.begin()->second;
    CancelCall(id, DeadlineExceeded("deadline exceeded waiting for the response"), true);
  }
  ArmDeadlineTimer();
}

void ClientConnection::ArmHeartbeat() {
  if (options_.heartbeat_interval.count() <= 0) return;
  heartbeat_timer_.expires_after(options_.heartbeat_interval);
  heartbeat_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->state() == State::kClosed) return;
    // A peer silent for two heartbeat intervals is gone.
    if (Clock::now() - self->last_read_ > 2 * self->options_.heartbeat_interval) {
      self->Fail(Unavailable(fmt::format("{}:{} stopped answering heartbeats", self->host_, self->port_)));
      return;
    }
    self->writer_.Enqueue(BuildControlFrame(FrameType::kPing, nullptr), self);
    self->ArmHeartbeat();
  });
}

void ClientConnection::MaybeCloseWhenIdle() {
  State s = state();
  if (calls_.empty() && writer_.idle() &&
      ((close_when_idle_ && had_call_) || s == State::kDraining)) {
    Fail(Unavailable("connection closed"));
  }
}

asio::awaitable<void> ClientConnection::ReadLoop() {
  boost::system::error_code ec;
  Frame frame;
  Status error;
  while (state() != State::kClosed) {
    FrameReader::Result r;
    while ((r = reader_.Next(&frame, &error)) == FrameReader::Result::kFrame) {
      HandleFrame(frame);
      frame = Frame();
      if (state() == State::kClosed) co_return;
    }
    if (r == FrameReader::Result::kError) {
      Fail(Status(Code::kInternal, fmt::format("bad frame from {}:{}: {}", host_, port_, error.message())));
      co_return;
    }
    auto space = reader_.WritableSpace();
    size_t n = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()),
                                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      Fail(Unavailable(fmt::format("connection to {}:{} lost: {}", host_, port_, ec.message())));
      co_return;
    }
    last_read_ = Clock::now();
    reader_.Commit(n);
  }
}

void ClientConnection::HandleFrame(const Frame& frame) {
  switch (frame.header.type) {
    case FrameType::kResponse:
      HandleResponse(frame);
      return;
    case FrameType::kPing:
      writer_.Enqueue(BuildControlFrame(FrameType::kPong, nullptr), shared_from_this());
      return;
    case FrameType::kPong:
      return;
    case FrameType::kGoAway:
      HandleGoAway(frame);
      return;
    case FrameType::kRequest:
    case FrameType::kCancel:
      Fail(Status(Code::kInternal, "server sent a request or cancel frame"));
      return;
  }
}

void ClientConnection::HandleResponse(const Frame& frame) {
  if (!meta_.ParseFromArray(frame.meta.data(), static_cast<int>(frame.meta.size()))) {
    Fail(Status(Code::kInternal, "malformed response meta"));
    return;
  }
  auto it = calls_.find(meta_.correlation_id());
  if (it == calls_.end()) return;  // timed out or cancelled already
  auto call = std::move(it->second);
  calls_.erase(it);
  if (call->deadline_it != deadlines_.end()) deadlines_.erase(call->deadline_it);
  Status st(CodeFromInt(meta_.status_code()), meta_.status_message());
  auto& md = call->ctx->mutable_response_metadata();
  md.clear();
  for (const auto& kv : meta_.metadata()) md.emplace_back(kv.key(), kv.value());
  if (st.ok()) {
    st = ParseBody(frame, meta_.compression(), options_.max_frame_size, call->response);
    if (!st.ok()) st = Status(Code::kInternal, "bad response body: " + st.message());
    call->ctx->set_response_attachment(frame.attachment);
  }
  Complete(std::move(call), std::move(st));
  MaybeCloseWhenIdle();
}

void ClientConnection::HandleGoAway(const Frame& frame) {
  wire::RpcMeta meta;
  if (!meta.ParseFromArray(frame.meta.data(), static_cast<int>(frame.meta.size()))) {
    Fail(Unavailable("server went away"));
    return;
  }
  Code code = CodeFromInt(meta.status_code());
  std::string why = fmt::format("server {}:{} went away: {}", host_, port_,
                                meta.status_message().empty() ? "no reason" : meta.status_message());
  State expected = State::kConnected;
  state_.compare_exchange_strong(expected, State::kDraining);
  // Calls the server never saw fail now (safe to retry elsewhere); the rest
  // may still be answered before the server closes.
  std::vector<uint64_t> unseen;
  for (const auto& [id, call] : calls_)
    if (id > meta.last_correlation_id()) unseen.push_back(id);
  for (uint64_t id : unseen)
    CancelCall(id, Status(code == Code::kOk ? Code::kUnavailable : code, why), false);
  MaybeCloseWhenIdle();
}

}  // namespace dougong::rpc
