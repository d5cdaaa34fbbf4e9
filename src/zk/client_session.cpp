#include "zk/client_session.h"

#include <random>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "zk/packet.h"
#include "zk/protocol.h"
#include "zk/record.h"
#include "zk/records.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace dougong::zk {

namespace {

constexpr auto kTick = std::chrono::milliseconds(50);
// ZooKeeper's client keeps each setWatches packet under 128 KiB of paths.
constexpr size_t kSetWatchesMaxBytes = 128 * 1024;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

std::string HeaderOnlyPacket(int32_t xid, OpCode op) {
  std::string out;
  size_t begin = BeginPacket(&out);
  jute::Writer w(&out);
  jute::Encode(RequestHeader{xid, static_cast<int32_t>(op)}, w);
  EndPacket(&out, begin);
  return out;
}

}  // namespace

struct ZkClient::Impl::Conn {
  explicit Conn(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  std::string rbuf;
  size_t rpos = 0;
  std::string out;
  bool writing = false;
  bool open = true;
  bool handshaking = true;
  bool timed_out = false;
  Clock::time_point deadline;
  void Close() {
    if (!open) return;
    open = false;
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }
};

ZkClient::Impl::Impl(client::ConnectString cs, ZkClientOptions options)
    : cs_(std::move(cs)), options_(std::move(options)) {
  if (options_.shuffle_hosts && cs_.hosts.size() > 1) {
    std::mt19937 rng(std::random_device{}());
    std::shuffle(cs_.hosts.begin(), cs_.hosts.end(), rng);
  }
  for (auto& [scheme, cred] : options_.auth) auths_.push_back(Auth{scheme, cred, nullptr});
  if (options_.state_listener) listeners_.push_back(options_.state_listener);
  backoff_timer_ = std::make_unique<asio::steady_timer>(io());
}

ZkClient::Impl::~Impl() {
  pool_.Stop();
  // Objects bound to the contexts go before the contexts themselves.
  conn_.reset();
  backoff_timer_.reset();
}

asio::io_context& ZkClient::Impl::io() { return pool_.at(0); }

void ZkClient::Impl::Start() {
  auto now = Clock::now();
  disconnected_since_ = now;
  last_recv_ = now;
  last_send_ = now;
  pool_.Start();
  asio::co_spawn(io(), Run(), asio::detached);
  asio::co_spawn(io(), Ticker(), asio::detached);
}

bool ZkClient::Impl::OnOwnThread() const {
  auto& self = const_cast<Impl&>(*this);
  return self.pool_.at(0).get_executor().running_in_this_thread() ||
         self.pool_.at(1).get_executor().running_in_this_thread();
}

void ZkClient::Impl::Shutdown() {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  Close([&](Status) {
    std::lock_guard lock(m);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; });
  }
  pool_.Stop();
}

void ZkClient::Impl::PostEvent(std::function<void()> fn) { asio::post(pool_.at(1), std::move(fn)); }
void ZkClient::Impl::PostIo(std::function<void()> fn) { asio::post(io(), std::move(fn)); }

void ZkClient::Impl::AddStateListener(ZkStateListener listener) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(listener));
}

std::string ZkClient::Impl::connected_host() const {
  std::lock_guard lock(mu_);
  return host_;
}

Status ZkClient::Impl::WaitConnected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return connected.load() || settled_terminal_; });
  if (connected.load()) return Status::Ok();
  if (settled_terminal_) return wait_error_;
  return DeadlineExceeded(fmt::format("not connected to {} after {} ms{}", cs_.hosts.front().ToString(),
                                      timeout.count(), wait_error_.ok() ? "" : ": " + wait_error_.message()));
}

std::chrono::milliseconds ZkClient::Impl::SessionTimeout() const {
  int32_t n = negotiated_ms.load();
  return n > 0 ? std::chrono::milliseconds(n) : options_.session_timeout;
}

std::chrono::milliseconds ZkClient::Impl::ConnectTimeout() const {
  if (options_.connect_timeout.count() > 0) return options_.connect_timeout;
  auto t = SessionTimeout() / static_cast<int>(cs_.hosts.size());
  return std::max(t, std::chrono::milliseconds(100));
}

void ZkClient::Impl::SetState(ZkSessionState state) {
  std::vector<ZkStateListener> ls;
  {
    std::lock_guard lock(mu_);
    ls = listeners_;
  }
  SPDLOG_DEBUG("zk client session 0x{:x}: {}", session_id.load(), ZkSessionStateName(state));
  if (ls.empty()) return;
  PostEvent([ls = std::move(ls), state] {
    for (const auto& l : ls) l(state);
  });
}

// ---- requests from other threads ----

void ZkClient::Impl::Submit(client::PendingRequest req) {
  asio::post(io(), [this, req = std::move(req)]() mutable {
    if (expired_) {
      req.on_reply(static_cast<int32_t>(ErrorCode::kSessionExpired), {});
      return;
    }
    if (terminal_ || closing_) {
      req.on_reply(static_cast<int32_t>(ErrorCode::kConnectionLoss), {});
      return;
    }
    req.xid = tracker_.NextXid();
    jute::PutInt32(req.packet.data() + kPacketLengthSize, req.xid);
    if (conn_ && connected.load()) {
      SendNow(std::move(req));
    } else if (lost_reported_) {
      // The session timeout passed without a connection: fail fast rather
      // than queue forever.
      req.on_reply(static_cast<int32_t>(ErrorCode::kConnectionLoss), {});
    } else {
      tracker_.Queue(std::move(req));
    }
  });
}

void ZkClient::Impl::SendNow(client::PendingRequest req) {
  std::string packet = std::move(req.packet);
  tracker_.Sent(std::move(req));
  Send(conn_, packet);
}

void ZkClient::Impl::AddAuth(std::string scheme, std::string auth, ZkDone cb) {
  asio::post(io(), [this, scheme = std::move(scheme), auth = std::move(auth), cb = std::move(cb)]() mutable {
    if (terminal_ || closing_) {
      auto err = expired_ ? ZkError::kSessionExpired : ZkError::kConnectionLoss;
      PostEvent([cb, err] { cb(ZkErrorStatus(err, "addAuth")); });
      return;
    }
    if (conn_ && connected.load()) {
      auths_.push_back(Auth{scheme, auth, nullptr});
      std::string out;
      size_t begin = BeginPacket(&out);
      jute::Writer w(&out);
      jute::Encode(RequestHeader{xid::kAuth, static_cast<int32_t>(OpCode::kAuth)}, w);
      jute::Encode(AuthPacket{0, scheme, jute::Buffer(auth)}, w);
      EndPacket(&out, begin);
      auth_waiters_.push_back(std::move(cb));
      Send(conn_, out);
    } else {
      // Sent, with the others, as soon as a connection is up.
      auths_.push_back(Auth{std::move(scheme), std::move(auth), std::move(cb)});
    }
  });
}

void ZkClient::Impl::Close(ZkDone cb) {
  asio::post(io(), [this, cb = std::move(cb)]() mutable {
    if (terminal_) {
      PostEvent([cb] { cb(Status::Ok()); });
      return;
    }
    close_waiters_.push_back(std::move(cb));
    if (closing_) return;
    closing_ = true;
    close_deadline_ = Clock::now() + std::min(SessionTimeout(), std::chrono::milliseconds(2000));
    if (conn_ && connected.load()) {
      client::PendingRequest req;
      req.opcode = static_cast<int32_t>(OpCode::kCloseSession);
      req.xid = tracker_.NextXid();
      req.packet = HeaderOnlyPacket(req.xid, OpCode::kCloseSession);
      req.on_reply = [this](int32_t, std::string_view) { FinishClose(); };
      SendNow(std::move(req));
    } else {
      FinishClose();
    }
  });
}

// ---- the connection loop ----

asio::awaitable<void> ZkClient::Impl::Run() {
  size_t next = 0;
  size_t failures = 0;
  std::mt19937 rng(std::random_device{}());
  while (!terminal_ && !closing_) {
    if (failures > 0 && failures % cs_.hosts.size() == 0) {
      // Every host failed once more: pause a little before the next round.
      std::uniform_int_distribution<int> ms(50, 300);
      backoff_timer_->expires_after(std::chrono::milliseconds(ms(rng)));
      co_await backoff_timer_->async_wait(kUseTuple);
      if (terminal_ || closing_) break;
    }
    const client::HostPort hp = cs_.hosts[next++ % cs_.hosts.size()];
    auto conn = std::make_shared<Conn>(io());
    Status st = co_await Handshake(conn, hp);
    if (terminal_ || closing_) {
      conn->Close();
      break;
    }
    if (!st.ok()) {
      ++failures;
      conn->Close();
      SPDLOG_DEBUG("zk client: {}: {}", hp.ToString(), st.ToString());
      std::lock_guard lock(mu_);
      wait_error_ = st;
      continue;
    }
    failures = 0;
    conn_ = conn;
    OnConnected(conn, hp.ToString());
    co_await ReadLoop(conn);
    conn->Close();
    conn_.reset();
    OnDisconnected();
    // Try the next host first (ZooKeeper's client moves on too).
  }
}

asio::awaitable<Status> ZkClient::Impl::Handshake(std::shared_ptr<Conn> conn, const client::HostPort& hp) {
  conn->deadline = Clock::now() + ConnectTimeout();
  handshaking_ = conn;
  // Names are resolved once per connection attempt, never per request.
  tcp::resolver resolver(io());
  auto [rec, endpoints] = co_await resolver.async_resolve(hp.host, std::to_string(hp.port), kUseTuple);
  if (rec) co_return Unavailable(fmt::format("cannot resolve {}: {}", hp.host, rec.message()));
  if (conn->timed_out) co_return Unavailable(fmt::format("connect to {} timed out", hp.ToString()));
  auto [cec, ep] = co_await asio::async_connect(conn->sock, endpoints, kUseTuple);
  if (cec || !conn->open) {
    co_return Unavailable(fmt::format("cannot connect to {}: {}", hp.ToString(),
                                      conn->timed_out ? "timed out" : cec.message()));
  }
  boost::system::error_code ignored;
  conn->sock.set_option(tcp::no_delay(true), ignored);

  ConnectRequest req;
  req.protocol_version = kProtocolVersion;
  req.last_zxid_seen = last_zxid_;
  req.time_out = static_cast<int32_t>(options_.session_timeout.count());
  req.session_id = session_id.load();
  req.passwd = passwd_.empty() ? jute::Buffer(std::string(16, '\0')) : jute::Buffer(passwd_);
  req.read_only = options_.read_only;
  std::string packet;
  AppendPacket(jute::Encode(req), &packet);
  auto [wec, wn] = co_await asio::async_write(conn->sock, asio::buffer(packet), kUseTuple);
  if (wec) co_return Unavailable(fmt::format("{}: cannot send the handshake: {}", hp.ToString(), wec.message()));

  auto reply = co_await ReadPacket(*conn);
  if (!reply.ok()) {
    co_return Unavailable(fmt::format("{}: no handshake answer: {}", hp.ToString(),
                                      conn->timed_out ? "timed out" : reply.status().message()));
  }
  ConnectResponse resp;
  if (Status s = jute::DecodeAll(*reply, &resp); !s.ok())
    co_return Unavailable(fmt::format("{}: bad handshake answer: {}", hp.ToString(), s.message()));
  if (resp.time_out <= 0) {
    // The server no longer knows this session.
    Expire();
    co_return ZkErrorStatus(ZkError::kSessionExpired, "session expired");
  }
  if (resp.read_only && !options_.read_only)
    co_return Unavailable(fmt::format("{}: read-only server", hp.ToString()));
  conn->handshaking = false;
  session_id.store(resp.session_id);
  passwd_ = resp.passwd.bytes;
  negotiated_ms.store(resp.time_out);
  co_return Status::Ok();
}

asio::awaitable<Result<std::string>> ZkClient::Impl::ReadPacket(Conn& conn) {
  char buf[64 * 1024];
  for (;;) {
    std::string_view payload;
    size_t consumed = 0;
    Status error;
    std::string_view in(conn.rbuf);
    in.remove_prefix(conn.rpos);
    switch (SplitPacket(in, jute::kDefaultMaxBuffer, &payload, &consumed, &error)) {
      case SplitResult::kPacket: {
        std::string out(payload);
        conn.rpos += consumed;
        if (conn.rpos == conn.rbuf.size()) {
          conn.rbuf.clear();
          conn.rpos = 0;
        } else if (conn.rpos > 64 * 1024) {
          conn.rbuf.erase(0, conn.rpos);
          conn.rpos = 0;
        }
        co_return out;
      }
      case SplitResult::kError:
        co_return error;
      case SplitResult::kNeedMore:
        break;
    }
    if (!conn.open) co_return Unavailable("connection closed");
    auto [ec, n] = co_await conn.sock.async_read_some(asio::buffer(buf), kUseTuple);
    if (ec) co_return Unavailable(ec.message());
    last_recv_ = Clock::now();
    conn.rbuf.append(buf, n);
  }
}

asio::awaitable<void> ZkClient::Impl::ReadLoop(std::shared_ptr<Conn> conn) {
  while (conn->open) {
    auto packet = co_await ReadPacket(*conn);
    if (!packet.ok()) {
      SPDLOG_DEBUG("zk client: connection lost: {}", packet.status().ToString());
      std::lock_guard lock(mu_);
      wait_error_ = packet.status();
      break;
    }
    HandlePacket(conn, *packet);
  }
}

void ZkClient::Impl::Send(const std::shared_ptr<Conn>& conn, std::string_view packet) {
  if (!conn || !conn->open) return;
  conn->out.append(packet);
  last_send_ = Clock::now();
  if (!conn->writing) {
    conn->writing = true;
    asio::co_spawn(io(), WriteLoop(conn), asio::detached);
  }
}

asio::awaitable<void> ZkClient::Impl::WriteLoop(std::shared_ptr<Conn> conn) {
  std::string buf;
  while (conn->open && !conn->out.empty()) {
    buf.clear();
    buf.swap(conn->out);
    auto [ec, n] = co_await asio::async_write(conn->sock, asio::buffer(buf), kUseTuple);
    if (ec) {
      conn->Close();
      break;
    }
  }
  conn->writing = false;
}

void ZkClient::Impl::HandlePacket(const std::shared_ptr<Conn>& conn, std::string_view payload) {
  jute::Reader r(payload);
  ReplyHeader h;
  if (Status s = jute::Decode(r, &h); !s.ok()) {
    SPDLOG_WARN("zk client: bad reply from the server: {}", s.ToString());
    conn->Close();
    return;
  }
  switch (h.xid) {
    case xid::kPing:
      return;
    case xid::kAuth: {
      ZkDone cb;
      if (!auth_waiters_.empty()) {
        cb = std::move(auth_waiters_.front());
        auth_waiters_.pop_front();
      }
      if (h.err != 0) {
        SPDLOG_WARN("zk client: authentication failed: {}", ErrorCodeName(h.err));
        // Do not send failing credentials again on reconnection.
        if (!auths_.empty()) auths_.erase(auths_.begin());
      }
      if (cb) {
        Status st = ZkErrorStatus(static_cast<ZkError>(h.err), "addAuth");
        PostEvent([cb = std::move(cb), st] { cb(st); });
      }
      return;
    }
    case xid::kSetWatches:
      if (h.err != 0) SPDLOG_WARN("zk client: setWatches2 failed: {}", ErrorCodeName(h.err));
      return;
    case xid::kNotification: {
      WatcherEvent ev;
      if (Status s = jute::Decode(r, &ev); !s.ok()) {
        SPDLOG_WARN("zk client: bad notification: {}", s.ToString());
        conn->Close();
        return;
      }
      auto ws = watches_.Materialize(ev.type, ev.path);
      if (ws.empty()) return;
      ZkWatchedEvent out{static_cast<ZkEventType>(ev.type), static_cast<ZkKeeperState>(ev.state),
                         client::StripChroot(cs_.chroot, ev.path)};
      PostEvent([ws = std::move(ws), out = std::move(out)] {
        for (const auto& w : ws) w(out);
      });
      return;
    }
    default:
      break;
  }
  auto req = tracker_.Match(h.xid);
  if (!req) {
    SPDLOG_WARN("zk client: reply xid {} does not match the oldest request", h.xid);
    conn->Close();
    return;
  }
  if (h.zxid > 0) last_zxid_ = h.zxid;
  if (req->watch_kind && req->watcher) {
    bool arm = h.err == 0 || (*req->watch_kind == client::WatchKind::kData &&
                              req->opcode == static_cast<int32_t>(OpCode::kExists) &&
                              h.err == static_cast<int32_t>(ErrorCode::kNoNode));
    if (arm) {
      auto kind = *req->watch_kind;
      if (h.err != 0) kind = client::WatchKind::kExist;  // exists on a missing node
      watches_.Add(kind, req->watch_path, std::move(req->watcher));
    }
  }
  if (req->on_reply) req->on_reply(h.err, h.err == 0 ? r.rest() : std::string_view());
}

void ZkClient::Impl::OnConnected(const std::shared_ptr<Conn>& conn, const std::string& host) {
  bool first = !ever_connected_;
  ever_connected_ = true;
  lost_reported_ = false;
  last_recv_ = Clock::now();
  // Credentials first, then the watches, then whatever waited.
  for (auto& a : auths_) {
    std::string out;
    size_t begin = BeginPacket(&out);
    jute::Writer w(&out);
    jute::Encode(RequestHeader{xid::kAuth, static_cast<int32_t>(OpCode::kAuth)}, w);
    jute::Encode(AuthPacket{0, a.scheme, jute::Buffer(a.auth)}, w);
    EndPacket(&out, begin);
    auth_waiters_.push_back(std::move(a.waiting));
    a.waiting = nullptr;
    Send(conn, out);
  }
  if (!first && !watches_.empty()) {
    for (const auto& batch : watches_.SetWatchesBatches(last_zxid_, kSetWatchesMaxBytes)) {
      std::string out;
      size_t begin = BeginPacket(&out);
      jute::Writer w(&out);
      jute::Encode(RequestHeader{xid::kSetWatches, static_cast<int32_t>(OpCode::kSetWatches2)}, w);
      jute::Encode(batch, w);
      EndPacket(&out, begin);
      Send(conn, out);
    }
  }
  while (tracker_.has_queued()) SendNow(tracker_.PopQueued());
  connected.store(true);
  {
    std::lock_guard lock(mu_);
    host_ = host;
    wait_error_ = Status::Ok();
  }
  cv_.notify_all();
  SetState(first ? ZkSessionState::kConnected : ZkSessionState::kReconnected);
}

void ZkClient::Impl::FailAuthWaiters(int32_t err) {
  std::deque<ZkDone> ws;
  ws.swap(auth_waiters_);
  for (auto& cb : ws) {
    if (!cb) continue;
    Status st = ZkErrorStatus(static_cast<ZkError>(err), "addAuth");
    PostEvent([cb = std::move(cb), st] { cb(st); });
  }
}

void ZkClient::Impl::OnDisconnected() {
  bool was = connected.exchange(false);
  {
    std::lock_guard lock(mu_);
    host_.clear();
  }
  tracker_.FailSent(static_cast<int32_t>(ErrorCode::kConnectionLoss));
  FailAuthWaiters(static_cast<int32_t>(ErrorCode::kConnectionLoss));
  if (terminal_) return;
  if (was) {
    disconnected_since_ = Clock::now();
    SetState(ZkSessionState::kSuspended);
  }
}

void ZkClient::Impl::Expire() {
  if (terminal_) return;
  terminal_ = true;
  expired_ = true;
  connected.store(false);
  tracker_.FailAll(static_cast<int32_t>(ErrorCode::kSessionExpired));
  FailAuthWaiters(static_cast<int32_t>(ErrorCode::kSessionExpired));
  for (auto& a : auths_) {
    if (a.waiting) {
      PostEvent([cb = std::move(a.waiting)] { cb(ZkErrorStatus(ZkError::kSessionExpired, "addAuth")); });
    }
  }
  auto ws = watches_.TakeAll();
  if (!ws.empty()) {
    PostEvent([ws = std::move(ws)] {
      ZkWatchedEvent ev{ZkEventType::kNone, ZkKeeperState::kExpired, ""};
      for (const auto& w : ws) w(ev);
    });
  }
  backoff_timer_->cancel();
  {
    std::lock_guard lock(mu_);
    settled_terminal_ = true;
    wait_error_ = ZkErrorStatus(ZkError::kSessionExpired, fmt::format("session 0x{:x}", session_id.load()));
  }
  cv_.notify_all();
  SetState(ZkSessionState::kExpired);
  std::vector<ZkDone> waiters;
  waiters.swap(close_waiters_);
  for (auto& cb : waiters) PostEvent([cb = std::move(cb)] { cb(Status::Ok()); });
}

void ZkClient::Impl::FinishClose() {
  if (terminal_) return;
  terminal_ = true;
  connected.store(false);
  tracker_.FailAll(static_cast<int32_t>(ErrorCode::kConnectionLoss));
  FailAuthWaiters(static_cast<int32_t>(ErrorCode::kConnectionLoss));
  for (auto& a : auths_) {
    if (a.waiting) {
      PostEvent([cb = std::move(a.waiting)] { cb(ZkErrorStatus(ZkError::kConnectionLoss, "client closed")); });
    }
  }
  if (conn_) conn_->Close();
  if (auto h = handshaking_.lock()) h->Close();
  backoff_timer_->cancel();
  {
    std::lock_guard lock(mu_);
    settled_terminal_ = true;
    wait_error_ = ZkErrorStatus(ZkError::kConnectionLoss, "client closed");
  }
  cv_.notify_all();
  SetState(ZkSessionState::kClosed);
  std::vector<ZkDone> waiters;
  waiters.swap(close_waiters_);
  for (auto& cb : waiters) PostEvent([cb = std::move(cb)] { cb(Status::Ok()); });
}

asio::awaitable<void> ZkClient::Impl::Ticker() {
  asio::steady_timer timer(io());
  while (!terminal_) {
    timer.expires_after(kTick);
    co_await timer.async_wait(kUseTuple);
    if (terminal_) break;
    auto now = Clock::now();
    if (auto h = handshaking_.lock(); h && h->handshaking && h->open && now > h->deadline) {
      h->timed_out = true;
      h->Close();
    }
    auto session = SessionTimeout();
    if (conn_ && conn_->open && connected.load()) {
      auto read_timeout = session * 2 / 3;
      auto ping_interval = session / 3;
      if (now - last_recv_ > read_timeout) {
        SPDLOG_DEBUG("zk client: nothing heard for {} ms, reconnecting",
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - last_recv_).count());
        std::lock_guard lock(mu_);
        wait_error_ = Unavailable("read timeout");
        conn_->Close();
      } else if (now - last_send_ >= ping_interval && !closing_) {
        Send(conn_, HeaderOnlyPacket(xid::kPing, OpCode::kPing));
      }
    }
    if (!connected.load() && !lost_reported_ && !closing_ && now - disconnected_since_ > session) {
      lost_reported_ = true;
      if (ever_connected_) SetState(ZkSessionState::kLost);
      tracker_.FailAll(static_cast<int32_t>(ErrorCode::kConnectionLoss));
    }
    if (closing_ && now > close_deadline_) FinishClose();
  }
}

}  // namespace dougong::zk
