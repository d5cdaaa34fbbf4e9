#include "keeper/core.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/thread_name.h"
#include "keeper/read_ops.h"
#include "base/file_util.h"
#include "keeper/storage/retention.h"
#include "keeper/storage/snapshot_reader.h"
#include "keeper/storage/snapshot_writer.h"
#include "zk/jute.h"
#include "zk/packet.h"
#include "zk/record.h"

namespace dougong::keeper {

using zk::ErrorCode;
using zk::OpCode;

namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int kTickIntervalMs = 100;
// Old snapshots and log segments are deleted at this pace (RemoveFilePaced).
constexpr uint64_t kPurgeBytesPerSec = 64 << 20;


}  // namespace

Core::Core(const KeeperOptions& options, std::unique_ptr<Replicator> replicator)
    : options_(options), tick_timer_(io_), cleanup_timer_(io_), replicator_(std::move(replicator)) {
  DataTreeOptions tree_options;
  tree_options.extended_types_enabled = options.extended_types;
  tree_options.container_max_never_used_ms = options.container_max_never_used_ms;
  sm_ = std::make_unique<StateMachine>(tree_options);
}

Core::~Core() { Stop(); }

int64_t Core::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- recovery

Status Core::Recover() {
  if (replicated()) return RecoverReplicated();
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) return Status(Code::kUnavailable, "cannot create data dir " + options_.data_dir + ": " + ec.message());

  // The secret that session passwords are derived from: made once per data
  // dir, so passwords stay valid across restarts and differ between servers.
  std::string secret_path = options_.data_dir + "/keeper.secret";
  {
    std::ifstream in(secret_path, std::ios::binary);
    if (in) secret_.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (secret_.size() != 32) {
    secret_.resize(32);
    RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), 32);
    std::string tmp = secret_path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(secret_.data(), 32);
      if (!out) return Status(Code::kUnavailable, "cannot write " + tmp);
    }
    std::filesystem::rename(tmp, secret_path, ec);
    if (ec) return Status(Code::kUnavailable, "cannot write " + secret_path + ": " + ec.message());
  }

  int64_t snap_zxid = 0;
  std::string snap_note = "no snapshot";
  Result<std::unique_ptr<storage::SnapshotReader>> reader = storage::SnapshotReader::OpenNewest(options_.data_dir);
  if (reader.ok()) {
    for (const std::string& w : (*reader)->info().warnings) spdlog::warn("keeper: {}", w);
    StateMachine::Loader loader(sm_->tree().options());
    std::string chunk;
    while (true) {
      Result<bool> more = (*reader)->Next(&chunk);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (Status s = loader.Feed(chunk); !s.ok()) {
        return Status(Code::kDataLoss, (*reader)->info().snapshot.path + ": " + s.message());
      }
    }
    snap_zxid = (*reader)->zxid();
    Result<std::unique_ptr<StateMachine>> loaded = loader.Finish(snap_zxid);
    if (!loaded.ok()) {
      return Status(Code::kDataLoss, (*reader)->info().snapshot.path + ": " + loaded.status().message());
    }
    sm_ = std::move(*loaded);
    snap_note = fmt::format("snapshot {} ({} znodes, {} sessions)", (*reader)->info().snapshot.path,
                            sm_->tree().node_count(), sm_->sessions().size());
  } else if (reader.status().code() != Code::kNotFound) {
    return reader.status();
  }

  storage::TxnLogOptions log_options;
  log_options.prefill_bytes = 16ull << 20;
  log_options.sync_thread = false;  // the Core's loop commits (Start)
  Result<std::unique_ptr<storage::TxnLog>> log = storage::TxnLog::Open(options_.data_dir, log_options);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  Status apply_error;
  Result<storage::RecoveryReport> report = log_->Replay(
      snap_zxid,
      [&](int64_t zxid, std::string_view payload) -> Status {
        Result<Txn> txn = DecodeTxn(payload);
        if (!txn.ok()) return Status(Code::kDataLoss, fmt::format("zxid 0x{:x}: {}", zxid, txn.status().message()));
        sm_->Apply(*txn, zxid);
        return Status::Ok();
      },
      options_.repair ? storage::RecoveryMode::kRepair : storage::RecoveryMode::kStrict);
  if (!report.ok()) {
    std::string hint = options_.repair ? "" : " (start with --repair to truncate the log at the damage)";
    return Status(report.status().code(), report.status().message() + hint);
  }
  int64_t last = std::max({snap_zxid, report->last_zxid, sm_->last_zxid()});
  next_zxid_ = last + 1;
  if (last == 0 && options_.initial_zxid > 0) next_zxid_ = options_.initial_zxid;

  int64_t now = NowMs();
  for (const auto& [id, timeout] : sm_->sessions()) {
    sessions_[id] = SessionRt{timeout, now + timeout, nullptr, false};
    last_session_id_ = std::max(last_session_id_, id);
  }
  recovery_summary_ = fmt::format(
      "recovered {}; log: {} records replayed, last zxid 0x{:x}{}{}; {} znodes, {} sessions", snap_note,
      report->replayed, last, report->torn_tail ? fmt::format(", torn tail cut at {}:{}", report->truncated_path,
                                                                report->truncated_offset)
                                                : "",
      report->repaired ? fmt::format(", REPAIRED: cut at {}:{} ({})", report->truncated_path,
                                     report->truncated_offset, report->problem)
                       : "",
      sm_->tree().node_count(), sessions_.size());
  return Status::Ok();
}

Status Core::Start() {
  running_ = true;
  ScheduleTick();
  ScheduleCleanup();
  thread_ = std::thread([this] {
    SetThreadName("keeper-core");
    // The loop is the group commit: handlers run until none is ready (at
    // most kHandlersPerRound), then what they appended is written and
    // fdatasync'ed here, and the durable callbacks post the replies back
    // onto the loop. No hand-off to a log thread and back: on a busy
    // 2-core machine every wake-up of another thread is a chance to wait
    // for the CPU, and those waits were the tail of write latency.
    constexpr int kHandlersPerRound = 1024;
    while (io_.run_one() > 0) {
      for (int i = 0; i < kHandlersPerRound && io_.poll_one() > 0; ++i) {
      }
      if (log_) log_->SyncPending();
      if (replicator_) replicator_->Flush();
    }
  });
  if (replicator_) return replicator_->Start();
  return Status::Ok();
}

void Core::Stop() {
  // The replicator first: it calls into the Core (SaveState waits for it).
  if (replicator_) replicator_->Stop();
  if (thread_.joinable()) {
    boost::asio::post(io_, [this] {
      tick_timer_.cancel();
      cleanup_timer_.cancel();
      io_.stop();
    });
    thread_.join();
  }
  running_ = false;
  // A snapshot still being written is abandoned (its .tmp file is removed
  // at the next start); the log has everything it would have held.
  if (int pid = snapshot_pid_.load(); pid > 0) kill(pid, SIGKILL);
  if (snapshot_waiter_.joinable()) snapshot_waiter_.join();
  if (state_reader_.joinable()) state_reader_.join();
  if (log_) {
    Status s = log_->Close();
    if (!s.ok()) spdlog::error("keeper: closing the log: {}", s.ToString());
  }
}

void Core::RunOnCore(const std::function<void()>& fn) {
  if (!running_) {
    fn();  // before Start (recovery): nothing else runs
    return;
  }
  std::promise<void> done;
  boost::asio::post(io_, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// ---------------------------------------------------------------- sessions

std::string Core::Password(int64_t session) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string input = secret_;
  for (int i = 7; i >= 0; --i) input.push_back(static_cast<char>(session >> (8 * i)));
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), 16);
}

int64_t Core::NextSessionId() {
  // As ZooKeeper: the server id in the top byte, the start time below, so
  // ids stay unique across restarts; then one after the other.
  const int64_t kServerId = replicated() ? static_cast<int64_t>(replicator_->member_id() & 0x7f) : 1;
  int64_t base = static_cast<int64_t>((static_cast<uint64_t>(NowMs()) << 24) >> 8) | (kServerId << 56);
  last_session_id_ = std::max(base, last_session_id_ + 1);
  return last_session_id_;
}

void Core::Touch(int64_t session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || it->second.closing) return;
  int64_t now = NowMs();
  if (!decides()) {
    // The leader decides expiry; it hears of this session at the next tick.
    touched_.insert(session);
    it->second.deadline_ms = now + it->second.timeout_ms;
    return;
  }
  if (it->second.deadline_ms < now) {
    // Already past its timeout (this process could not run to notice):
    // a late packet, e.g. a ping buffered on the old connection, must not
    // revive it.
    ExpireSession(session);
    return;
  }
  it->second.deadline_ms = now + it->second.timeout_ms;
}

void Core::ScheduleTick() {
  tick_timer_.expires_after(std::chrono::milliseconds(kTickIntervalMs));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Tick();
    ScheduleTick();
  });
}

void Core::Tick() {
  int64_t now = NowMs();
  if (replicated()) ReplicationTick(now);
  if (!decides()) {
    Flush();
    return;
  }
  std::vector<int64_t> expired;
  for (auto& [id, rt] : sessions_) {
    if (!rt.closing && rt.deadline_ms < now) expired.push_back(id);
  }
  for (int64_t id : expired) ExpireSession(id);
  Flush();
}

void Core::ExpireSession(int64_t session) {
  SessionRt& rt = sessions_[session];
  rt.closing = true;
  ++stats_.sessions_expired;
  spdlog::info("keeper: session 0x{:x} expired (timeout {} ms)", session, rt.timeout_ms);
  if (rt.conn) {
    rt.conn->core.closing = true;
    rt.conn->Close();
    rt.conn.reset();
  }
  PendingWrite pw;
  pw.txn.opcode = static_cast<int32_t>(OpCode::kCloseSession);
  pw.txn.session_id = session;
  SubmitTxn(std::move(pw));
}

void Core::ScheduleCleanup() {
  cleanup_timer_.expires_after(std::chrono::milliseconds(std::max(10, options_.container_check_interval_ms)));
  cleanup_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    CleanupContainers();
    ScheduleCleanup();
  });
}

void Core::CleanupContainers() {
  if (!decides()) return;
  for (const std::string& path : sm_->tree().CleanupCandidates(NowMs())) {
    PendingWrite pw;
    pw.txn.opcode = static_cast<int32_t>(OpCode::kDeleteContainer);
    zk::DeleteRequest del{path, -1};
    zk::jute::Writer w(&pw.txn.body);
    zk::jute::Encode(del, w);
    pw.body = del;
    SubmitTxn(std::move(pw));
  }
  Flush();
}

// ---------------------------------------------------------------- connections

bool Core::AdmitConnection(const std::string& ip) {
  std::lock_guard<std::mutex> lock(ip_mu_);
  if (options_.max_connections > 0 && total_connections_ >= options_.max_connections) return false;
  int& n = per_ip_[ip];
  if (options_.max_client_cnxns_per_ip > 0 && n >= options_.max_client_cnxns_per_ip) {
    if (n == 0) per_ip_.erase(ip);
    return false;
  }
  ++n;
  ++total_connections_;
  return true;
}

void Core::ReleaseConnection(const std::string& ip) {
  std::lock_guard<std::mutex> lock(ip_mu_);
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
  --total_connections_;
}

void Core::PostConnect(std::shared_ptr<ZkConnection> conn, zk::ConnectRequest req) {
  boost::asio::post(io_, [this, conn = std::move(conn), req = std::move(req)] {
    OnConnect(conn, req);
    Flush();
  });
}

void Core::PostRequests(std::shared_ptr<ZkConnection> conn, std::vector<IncomingRequest> batch) {
  boost::asio::post(io_, [this, conn = std::move(conn), batch = std::move(batch)]() mutable {
    OnRequests(conn, batch);
    Flush();
  });
}

void Core::PostDisconnect(std::shared_ptr<ZkConnection> conn) {
  boost::asio::post(io_, [this, conn = std::move(conn)] {
    OnDisconnect(conn);
    Flush();
  });
}

void Core::PostFourLetterWord(std::shared_ptr<ZkConnection> conn, std::string word) {
  boost::asio::post(io_, [this, conn = std::move(conn), word = std::move(word)] {
    conn->Send(FourLetterWord(word), true);
  });
}

void Core::OnConnect(const std::shared_ptr<ZkConnection>& conn, const zk::ConnectRequest& req) {
  connections_[conn->id()] = conn;
  ++stats_.packets_received;
  auto& cs = conn->core;
  auto auth = std::make_shared<AuthContext>();
  auth->client_ip = conn->remote_ip();
  cs.auth = std::move(auth);
  if (!log_error_.ok()) {
    conn->Close();
    return;
  }
  if (req.last_zxid_seen > sm_->last_zxid()) {
    // ZooKeeper refuses too: the client has seen a newer state than ours and
    // must go to another server.
    spdlog::warn("keeper: refusing session request from {}: it has seen zxid 0x{:x}, our last is 0x{:x}",
                 conn->remote_ip(), req.last_zxid_seen, sm_->last_zxid());
    conn->Close();
    return;
  }
  int min_to = options_.min_session_timeout_ms > 0 ? options_.min_session_timeout_ms : 2 * options_.tick_ms;
  int max_to = options_.max_session_timeout_ms > 0 ? options_.max_session_timeout_ms : 20 * options_.tick_ms;
  int32_t timeout = std::clamp(req.time_out, min_to, std::max(min_to, max_to));
  cs.timeout_ms = timeout;

  if (req.session_id == 0) {
    if (options_.max_sessions > 0 && static_cast<int>(sessions_.size()) >= options_.max_sessions) {
      spdlog::warn("keeper: refusing a new session from {}: max_sessions {} reached", conn->remote_ip(),
                   options_.max_sessions);
      ++stats_.connections_refused;
      conn->Close();
      return;
    }
    int64_t id = NextSessionId();
    cs.session = id;
    ++cs.pending_writes;  // requests wait until the session exists
    PendingWrite pw;
    pw.txn.opcode = static_cast<int32_t>(OpCode::kCreateSession);
    pw.txn.session_id = id;
    pw.txn.session_timeout_ms = timeout;
    pw.conn = conn;
    SubmitTxn(std::move(pw));
    return;
  }

  auto it = sessions_.find(req.session_id);
  if (decides() && it != sessions_.end() && !it->second.closing && it->second.deadline_ms < NowMs()) {
    // Its timeout passed while nobody could expire it (e.g. this process was
    // paused): it is expired now, not revived.
    ExpireSession(req.session_id);
  }
  if (it == sessions_.end() || it->second.closing || req.passwd.bytes != Password(req.session_id)) {
    RefuseSession(conn);
    return;
  }
  SessionRt& rt = it->second;
  if (rt.conn && rt.conn != conn) {
    // The client moved to a new connection: the old one is done, and so
    // are the watches it had (the client sends setWatches again).
    rt.conn->core.closing = true;
    rt.conn->core.session = 0;
    rt.conn->Close();
    sm_->tree().RemoveSessionWatches(req.session_id);
  }
  rt.conn = conn;
  rt.timeout_ms = timeout;
  rt.deadline_ms = NowMs() + timeout;
  cs.session = req.session_id;
  FinishConnect(conn, req.session_id, timeout);
}

void Core::FinishConnect(const std::shared_ptr<ZkConnection>& conn, int64_t session, int32_t timeout) {
  zk::ConnectResponse rsp;
  rsp.protocol_version = 0;
  rsp.time_out = timeout;
  rsp.session_id = session;
  rsp.passwd = zk::jute::Buffer(Password(session));
  rsp.read_only = false;
  SendConnectResponse(*conn, rsp);
  conn->core.connected = true;
}

void Core::SendConnectResponse(ZkConnection& c, const zk::ConnectResponse& rsp) {
  size_t begin = zk::BeginPacket(&c.core.outbox);
  zk::jute::Writer w(&c.core.outbox);
  zk::jute::Encode(rsp, w);
  zk::EndPacket(&c.core.outbox, begin);
  MarkDirty(c);
}

void Core::RefuseSession(const std::shared_ptr<ZkConnection>& conn) {
  // ZooKeeper's answer to an unknown, expired or wrongly authenticated
  // session: a ConnectResponse with timeout 0, session 0 and an all-zero
  // password (clients report SESSIONEXPIRED), then the connection closes.
  zk::ConnectResponse rsp;
  rsp.passwd = zk::jute::Buffer(std::string(16, '\0'));
  SendConnectResponse(*conn, rsp);
  conn->core.closing = true;
  conn->core.session = 0;
}

void Core::OnDisconnect(const std::shared_ptr<ZkConnection>& conn) {
  connections_.erase(conn->id());
  auto& cs = conn->core;
  cs.closing = true;
  cs.queue.clear();
  cs.outbox.clear();
  if (cs.session == 0) return;
  auto it = sessions_.find(cs.session);
  if (it != sessions_.end() && it->second.conn == conn) {
    it->second.conn.reset();
    sm_->tree().RemoveSessionWatches(cs.session);
  }
}

void Core::OnRequests(const std::shared_ptr<ZkConnection>& conn, std::vector<IncomingRequest>& batch) {
  auto& cs = conn->core;
  stats_.packets_received += batch.size();
  if (cs.session == 0 || cs.closing) return;
  Touch(cs.session);
  for (IncomingRequest& r : batch) cs.queue.push_back(std::move(r));
  Drain(conn);
}

void Core::Drain(const std::shared_ptr<ZkConnection>& conn) {
  auto& cs = conn->core;
  while (!cs.queue.empty() && !cs.closing && !cs.syncing) {
    IncomingRequest& req = cs.queue.front();
    if (req.decode_error == ErrorCode::kOk && IsTxnOpcode(req.type)) {
      IncomingRequest r = std::move(req);
      cs.queue.pop_front();
      SubmitWrite(conn, std::move(r));
      continue;
    }
    if (cs.pending_writes > 0) break;
    if (replicated() && req.decode_error == ErrorCode::kOk && req.type == static_cast<int32_t>(OpCode::kSync)) {
      StartSync(conn, req);
      cs.queue.pop_front();
      continue;
    }
    Execute(conn, req);
    cs.queue.pop_front();
  }
}

void Core::SubmitWrite(const std::shared_ptr<ZkConnection>& conn, IncomingRequest req) {
  auto& cs = conn->core;
  PendingWrite pw;
  pw.txn.opcode = req.type;
  pw.txn.session_id = cs.session;
  pw.txn.client_ip = cs.auth->client_ip;
  pw.txn.auth_ids = cs.auth->ids;
  pw.txn.body = std::move(req.raw_body);
  pw.body = std::move(req.body);
  pw.conn = conn;
  pw.xid = req.xid;
  pw.received_ns = req.received_ns;
  if (req.type == static_cast<int32_t>(OpCode::kCloseSession)) {
    cs.closing = true;
    auto it = sessions_.find(cs.session);
    if (it != sessions_.end()) it->second.closing = true;
  }
  ++cs.pending_writes;
  SubmitTxn(std::move(pw));
}

void Core::SubmitTxn(PendingWrite pw) {
  if (replicated()) {
    Propose(std::move(pw));
    return;
  }
  if (!log_error_.ok()) {
    if (pw.conn) {
      Reply(*pw.conn, pw.xid, sm_->last_zxid(), ErrorCode::kSystemError, nullptr);
      --pw.conn->core.pending_writes;
    }
    return;
  }
  pw.zxid = next_zxid_++;
  pw.txn.time_ms = NowMs();
  std::string payload;
  payload.reserve(64 + pw.txn.body.size() + pw.txn.client_ip.size());
  EncodeTxn(pw.txn, &payload);
  int64_t zxid = pw.zxid;
  pending_.push_back(std::move(pw));
  log_->Append(zxid, std::move(payload), [this, zxid](Status s) {
    if (!s.ok()) {
      boost::asio::post(io_, [this, s] {
        if (log_error_.ok()) spdlog::critical("keeper: the transaction log failed: {}", s.ToString());
        log_error_ = s;
        OnDurable();
        Flush();
      });
      return;
    }
    int64_t cur = durable_zxid_.load(std::memory_order_relaxed);
    while (zxid > cur && !durable_zxid_.compare_exchange_weak(cur, zxid)) {
    }
    if (!durable_posted_.exchange(true)) {
      boost::asio::post(io_, [this] {
        durable_posted_.store(false);
        OnDurable();
        Flush();
      });
    }
  });
}

void Core::OnDurable() {
  int64_t durable = durable_zxid_.load();
  while (!pending_.empty() && pending_.front().zxid <= durable) {
    PendingWrite pw = std::move(pending_.front());
    pending_.pop_front();
    ApplyOne(pw);
  }
  if (!log_error_.ok()) {
    // Nothing after the failure is durable: none of it is applied.
    while (!pending_.empty()) {
      PendingWrite& pw = pending_.front();
      if (pw.conn) {
        Reply(*pw.conn, pw.xid, sm_->last_zxid(), ErrorCode::kSystemError, nullptr);
        pw.conn->core.closing = true;
        pw.conn->Close();
      }
      pending_.pop_front();
    }
  }
  MaybeSnapshot();
}

void Core::ApplyOne(PendingWrite& pw) {
  const bool client_write = pw.conn && pw.txn.opcode != static_cast<int32_t>(OpCode::kCreateSession);
  OpResult r = sm_->Apply(pw.txn, pw.zxid, client_write ? &pw.body : nullptr);
  ++txns_since_snapshot_;
  ++stats_.writes_applied;
  DeliverEvents(r.events);
  switch (static_cast<OpCode>(pw.txn.opcode)) {
    case OpCode::kCreateSession: {
      int64_t now = NowMs();
      SessionRt& rt = sessions_[pw.txn.session_id];
      rt.timeout_ms = pw.txn.session_timeout_ms;
      rt.deadline_ms = now + rt.timeout_ms;
      if (!pw.conn) return;  // created through another member
      auto& cs = pw.conn->core;
      --cs.pending_writes;
      if (cs.closing || cs.session != pw.txn.session_id) return;  // connection gone: expires unless resumed
      rt.conn = pw.conn;
      FinishConnect(pw.conn, pw.txn.session_id, pw.txn.session_timeout_ms);
      Drain(pw.conn);
      return;
    }
    case OpCode::kCloseSession: {
      auto it = sessions_.find(pw.txn.session_id);
      if (it != sessions_.end()) {
        if (it->second.conn && it->second.conn != pw.conn) {
          it->second.conn->core.closing = true;
          it->second.conn->Close();
        }
        sessions_.erase(it);
      }
      if (pw.conn) {
        auto& cs = pw.conn->core;
        --cs.pending_writes;
        Reply(*pw.conn, pw.xid, pw.zxid, r.err, nullptr);
        CountLatency(*pw.conn, pw.received_ns);
        cs.session = 0;
        cs.closing = true;
      }
      return;
    }
    default:
      break;
  }
  if (!pw.conn) return;
  auto& cs = pw.conn->core;
  --cs.pending_writes;
  if (cs.session != pw.txn.session_id) return;  // that connection is no longer the session's
  Reply(*pw.conn, pw.xid, pw.zxid, r.err, r.err == ErrorCode::kOk ? &r.response : nullptr);
  CountLatency(*pw.conn, pw.received_ns);
  if (!cs.queue.empty()) Drain(pw.conn);
}

// ---------------------------------------------------------------- reads and session ops

void Core::Execute(const std::shared_ptr<ZkConnection>& conn, IncomingRequest& req) {
  auto& cs = conn->core;
  const int64_t zxid = sm_->last_zxid();
  DataTree& tree = sm_->tree();
  const AuthContext& auth = *cs.auth;
  ++stats_.reads_served;
  auto answer = [&](ErrorCode err, const zk::ResponseBody* body) {
    Reply(*conn, req.xid, zxid, err, err == ErrorCode::kOk ? body : nullptr);
    CountLatency(*conn, req.received_ns);
  };
  auto answer_result = [&](const OpResult& r) { answer(r.err, &r.response); };
  if (req.decode_error != ErrorCode::kOk) {
    answer(req.decode_error, nullptr);
    return;
  }
  auto& body = req.body;
  OpResult result;
  if (ExecuteRead(tree, req.type, body, auth, cs.session, &result)) {
    const bool set_watches = req.type == static_cast<int32_t>(OpCode::kSetWatches) ||
                             req.type == static_cast<int32_t>(OpCode::kSetWatches2);
    if (set_watches) {
      // Events for changes missed while disconnected go out before the reply.
      DeliverEvents(result.events);
      Reply(*conn, req.xid, zxid, ErrorCode::kOk, nullptr);
      return;
    }
    answer_result(result);
    return;
  }
  switch (static_cast<OpCode>(req.type)) {
    case OpCode::kPing:
      Reply(*conn, req.xid, zxid, ErrorCode::kOk, nullptr);
      return;
    case OpCode::kAuth: {
      const auto& packet = std::get<zk::AuthPacket>(body);
      auto next = std::make_shared<AuthContext>(auth);
      if (packet.scheme == "digest") {
        for (zk::Id& id : DigestAuthIds(packet.auth.bytes, options_.super_digest)) {
          if (std::find(next->ids.begin(), next->ids.end(), id) == next->ids.end()) next->ids.push_back(id);
        }
      } else if (packet.scheme == "ip") {
        zk::Id id{"ip", conn->remote_ip()};
        if (std::find(next->ids.begin(), next->ids.end(), id) == next->ids.end()) next->ids.push_back(id);
      } else {
        // ZooKeeper: unknown scheme -> AUTHFAILED, then the connection closes.
        Reply(*conn, req.xid, 0, ErrorCode::kAuthFailed, nullptr);
        cs.closing = true;
        return;
      }
      cs.auth = std::move(next);
      Reply(*conn, req.xid, 0, ErrorCode::kOk, nullptr);
      return;
    }
    case OpCode::kWhoAmI: {
      zk::WhoAmIResponse who;
      who.client_info.push_back(zk::ClientInfo{"ip", conn->remote_ip()});
      for (const zk::Id& id : auth.ids) {
        if (id.scheme == "digest") who.client_info.push_back(zk::ClientInfo{id.scheme, id.id.substr(0, id.id.find(':'))});
        else if (id.scheme != "ip") who.client_info.push_back(zk::ClientInfo{id.scheme, id.id});
      }
      zk::ResponseBody rsp = std::move(who);
      answer(ErrorCode::kOk, &rsp);
      return;
    }
    default:
      // reconfig (until replication), sasl and unknown opcodes: an error
      // reply; the connection stays.
      answer(ErrorCode::kUnimplemented, nullptr);
      return;
  }
}

// ---------------------------------------------------------------- output

void Core::DeliverEvents(const std::vector<WatchEvent>& events) {
  for (const WatchEvent& ev : events) {
    auto it = sessions_.find(ev.session);
    if (it == sessions_.end() || !it->second.conn) continue;
    ZkConnection& c = *it->second.conn;
    if (c.core.closing || !c.core.connected) continue;
    if (ev.acl && !CheckAcl(*ev.acl, zk::perms::kRead, *c.core.auth)) continue;
    size_t begin = zk::BeginPacket(&c.core.outbox);
    zk::jute::Writer w(&c.core.outbox);
    zk::jute::Encode(zk::ReplyHeader{-1, -1, 0}, w);
    zk::jute::Encode(
        zk::WatcherEvent{static_cast<int32_t>(ev.type), static_cast<int32_t>(zk::KeeperState::kSyncConnected), ev.path},
        w);
    zk::EndPacket(&c.core.outbox, begin);
    MarkDirty(c);
  }
}

void Core::Reply(ZkConnection& c, int32_t xid, int64_t zxid, ErrorCode err, const zk::ResponseBody* body) {
  auto& cs = c.core;
  size_t begin = zk::BeginPacket(&cs.outbox);
  zk::jute::Writer w(&cs.outbox);
  zk::jute::Encode(zk::ReplyHeader{xid, zxid, static_cast<int32_t>(err)}, w);
  if (body != nullptr) {
    Status s = zk::EncodeResponseBody(*body, &cs.outbox);
    if (!s.ok()) spdlog::error("keeper: encoding a reply: {}", s.ToString());
  }
  zk::EndPacket(&cs.outbox, begin);
  if (xid >= 0) {
    cs.last_cxid = xid;
    cs.last_zxid = zxid;
  }
  MarkDirty(c);
}

void Core::CountLatency(ZkConnection& c, int64_t received_ns) {
  if (received_ns == 0) return;
  const int64_t ns = SteadyNs() - received_ns;
  request_latency_.Record(static_cast<uint64_t>(ns / 1000));
  int64_t ms = ns / 1000000;
  auto& cs = c.core;
  cs.last_latency_ms = ms;
  cs.last_response_ms = NowMs();
  cs.min_latency_ms = cs.min_latency_ms < 0 ? ms : std::min(cs.min_latency_ms, ms);
  cs.max_latency_ms = std::max(cs.max_latency_ms, ms);
  cs.total_latency_ms += ms;
  ++cs.latency_count;
  stats_.min_latency_ms = stats_.min_latency_ms < 0 ? ms : std::min(stats_.min_latency_ms, ms);
  stats_.max_latency_ms = std::max(stats_.max_latency_ms, ms);
  stats_.total_latency_ms += ms;
  ++stats_.latency_count;
}

void Core::MarkDirty(ZkConnection& c) {
  if (!c.core.dirty) {
    c.core.dirty = true;
    dirty_.push_back(c.shared_from_this());
  }
}

void Core::Flush() {
  for (auto& conn : dirty_) {
    auto& cs = conn->core;
    cs.dirty = false;
    ++stats_.packets_sent;
    if (cs.outbox.empty()) {
      if (cs.closing) conn->Send(std::string(), true);
      continue;
    }
    std::string bytes;
    bytes.swap(cs.outbox);
    // A closing connection is closed once its last answers are written.
    conn->Send(std::move(bytes), cs.closing && cs.pending_writes == 0);
  }
  dirty_.clear();
}

// ---------------------------------------------------------------- snapshots

void Core::MaybeSnapshot() {
  if (replicated()) return;  // the replicated log snapshots (RaftNode)
  if (!snapshot_running_ && sm_->last_zxid() > 0 && options_.snap_count > 0 && txns_since_snapshot_ >= options_.snap_count) StartSnapshot();
}

Status Core::TriggerSnapshot() {
  Status result;
  if (replicated()) {
    return Status(Code::kFailedPrecondition,
                  "a cluster member snapshots through Raft (every snap_count entries), not on request");
  }
  RunOnCore([&] {
    if (snapshot_running_) {
      result = Status(Code::kAlreadyExists, "a snapshot is already being written");
      return;
    }
    if (sm_->last_zxid() == 0) {
      result = Status(Code::kFailedPrecondition, "nothing to snapshot yet (no transaction applied)");
      return;
    }
    StartSnapshot();
    if (!snapshot_running_) result = Status(Code::kInternal, "could not start a snapshot (see the log)");
  });
  return result;
}

void Core::StartSnapshot() {
  // fork(): the child writes the tree as of now from its copy-on-write view
  // of memory while this process goes on applying writes. The only pause
  // is the fork itself (copying page tables), instead of ZooKeeper's fuzzy
  // snapshot that competes with writes for the tree and the disk.
  const int64_t zxid = sm_->last_zxid();
  const int64_t started = NowMs();
  if (snapshot_waiter_.joinable()) snapshot_waiter_.join();
  const auto fork_start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    spdlog::error("keeper: snapshot: fork failed: {}", strerror(errno));
    ++stats_.snapshots_failed;
    return;
  }
  if (pid == 0) {
    // Child: one thread, a copy of memory. Do not touch locks other threads
    // may have held (logging included); report errors with write(2).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close_range(3, ~0U, 0);  // do not keep the listening sockets alive
    // The serving process keeps the CPU and the disk first: on a small
    // machine the snapshot otherwise competes with request handling and
    // with the log's fsyncs. (Errors are ignored: it only runs slower.)
    YieldToServing();
    auto fail = [](const std::string& what) {
      std::string line = "keeper snapshot child: " + what + "\n";
      (void)!write(2, line.data(), line.size());
      _exit(1);
    };
    Result<std::unique_ptr<storage::SnapshotWriter>> writer = storage::SnapshotWriter::Create(options_.data_dir);
    if (!writer.ok()) fail(writer.status().ToString());
    (*writer)->SetRateLimit(static_cast<uint64_t>(std::max(0, options_.snapshot_write_mb_per_sec)) << 20);
    Status s = sm_->Save([&](std::string_view chunk) { return (*writer)->Append(chunk); });
    if (!s.ok()) fail(s.ToString());
    Result<storage::SnapshotInfo> info = (*writer)->Finish(zxid);
    if (!info.ok()) fail(info.status().ToString());
    _exit(0);
  }
  snapshot_running_ = true;
  snapshot_pid_ = pid;
  txns_since_snapshot_ = 0;
  // The fork is the one pause writes see (as Redis reports its own).
  const double fork_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - fork_start).count();
  spdlog::info("keeper: snapshot at zxid 0x{:x} started (pid {}, fork took {:.1f} ms)", zxid, pid, fork_ms);
  snapshot_waiter_ = std::thread([this, pid, zxid, started] {
    SetThreadName("keeper-snapwait");
    // This thread verifies snapshots and deletes old files: it yields the
    // CPU and the disk to serving, as the snapshot child does.
    YieldToServing();
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    snapshot_pid_ = 0;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::string error;
    if (ok) {
      Result<storage::RetentionReport> rr =
          storage::ApplyRetention(options_.data_dir, options_.data_dir, std::max(1, options_.snap_retain_count),
                                  kPurgeBytesPerSec);
      if (!rr.ok()) error = "retention: " + rr.status().ToString();
    } else {
      error = fmt::format("snapshot child exited with status {}", status);
    }
    boost::asio::post(io_, [this, ok, zxid, started, error] { OnSnapshotDone(ok, zxid, started, error); });
  });
}

void Core::OnSnapshotDone(bool ok, int64_t zxid, int64_t started_ms, std::string error) {
  snapshot_running_ = false;
  if (ok) {
    ++stats_.snapshots_taken;
    stats_.last_snapshot_ms = NowMs() - started_ms;
    stats_.last_snapshot_zxid = zxid;
    spdlog::info("keeper: snapshot at zxid 0x{:x} written in {} ms", zxid, stats_.last_snapshot_ms);
  } else {
    ++stats_.snapshots_failed;
  }
  if (!error.empty()) spdlog::error("keeper: {}", error);
  MaybeSnapshot();
}

}  // namespace dougong::keeper
