// Core, replicated mode: proposing txns to the replicated log, applying
// committed entries, quorum sync, the leader's session bookkeeping, and the
// state hand-over for snapshots. See replication.h and
// docs/replicated_keeper.md.
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/file_util.h"
#include "base/thread_name.h"
#include "keeper/core.h"
#include "zk/jute.h"

namespace dougong::keeper {

using zk::ErrorCode;
using zk::OpCode;

// ---------------------------------------------------------------- origin codec

void EncodeProposalOrigin(const ProposalOrigin& origin, std::string* out) {
  for (uint64_t v : {origin.member, origin.tag})
    for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

Result<ProposalOrigin> DecodeProposalOrigin(std::string_view entry, std::string_view* txn) {
  if (entry.size() < kProposalOriginBytes)
    return Status(Code::kDataLoss, fmt::format("replicated entry of {} bytes is shorter than its header", entry.size()));
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(entry[at + i]);
    return v;
  };
  *txn = entry.substr(kProposalOriginBytes);
  return ProposalOrigin{u64(0), u64(8)};
}

const char* MemberRoleName(MemberRole role) {
  switch (role) {
    case MemberRole::kStandalone: return "standalone";
    case MemberRole::kLeader: return "leader";
    case MemberRole::kFollower: return "follower";
    case MemberRole::kObserver: return "observer";
    case MemberRole::kNone: return "looking";
  }
  return "unknown";
}

// ---------------------------------------------------------------- recovery

Status Core::RecoverReplicated() {
  secret_ = replicator_->session_secret();
  role_ = MemberRole::kNone;
  int cluster_timeout = options_.cluster.proposal_timeout_ms;
  proposal_timeout_ms_ = cluster_timeout > 0
                             ? cluster_timeout
                             : std::max(2000, 4 * options_.cluster.election_ticks * options_.cluster.tick_ms);
  // Tags differ between incarnations of this member, so that an entry it
  // proposed before a restart is never taken for a new proposal.
  RAND_bytes(reinterpret_cast<unsigned char*>(&next_tag_), sizeof(next_tag_));
  next_tag_ >>= 1;
  // Opening restores the newest snapshot through LoadState (inline: the
  // Core does not run yet); committed entries after it are applied once
  // the replicator starts.
  if (Status s = replicator_->Open(this); !s.ok()) return s;
  recovery_summary_ = fmt::format("member {} of a replicated keeper; state restored at zxid 0x{:x} ({} znodes, {} sessions)",
                                  replicator_->member_id(), sm_->last_zxid(), sm_->tree().node_count(),
                                  sm_->sessions().size());
  return Status::Ok();
}

// ---------------------------------------------------------------- host calls (any thread)

void Core::Committed(uint64_t index, std::string entry) {
  boost::asio::post(io_, [this, index, entry = std::move(entry)] {
    OnCommitted(index, entry);
    Flush();
  });
}

std::string Core::SaveState() {
  std::string out;
  RunOnCore([&] {
    Status s = sm_->Save([&](std::string_view chunk) {
      out.append(chunk);
      return Status::Ok();
    });
    if (!s.ok()) spdlog::error("keeper: serializing the state for a snapshot: {}", s.ToString());
  });
  return out;
}

bool Core::SaveStateAsync(std::function<void(Result<std::string>)> done) {
  if (!running_) return false;  // bootstrap, recovery: nothing else runs, serialize inline
  // Posted: it runs after every entry committed so far, before later ones.
  boost::asio::post(io_, [this, done = std::move(done)]() mutable { ForkStateWriter(std::move(done)); });
  return true;
}

void Core::ForkStateWriter(std::function<void(Result<std::string>)> done) {
  // As the single node's snapshots: a forked child serializes its
  // copy-on-write view of the tree while this thread goes on applying; the
  // one pause is the fork. The child writes to a pipe and a reader thread
  // hands the bytes to Raft, whose loop never waits for them.
  if (state_reader_.joinable()) state_reader_.join();  // Raft asks for one at a time
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    done(Status(Code::kUnavailable, std::string("snapshot: pipe: ") + strerror(errno)));
    return;
  }
  const auto fork_start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    done(Status(Code::kUnavailable, std::string("snapshot: fork: ") + strerror(errno)));
    return;
  }
  if (pid == 0) {
    // Child: one thread, a copy of memory; no logging (its locks may be
    // held by threads that do not exist here).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = fds[1];
    // Do not keep the listening sockets (and peers' connections) alive.
    if (out > 3) close_range(3, static_cast<unsigned>(out) - 1, 0);
    close_range(static_cast<unsigned>(out) + 1, ~0U, 0);
    YieldToServing();
    Status s = sm_->Save([out](std::string_view chunk) {
      while (!chunk.empty()) {
        ssize_t n = write(out, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Status(Code::kUnavailable, "write to the snapshot pipe failed");
        chunk.remove_prefix(static_cast<size_t>(n));
      }
      return Status::Ok();
    });
    _exit(s.ok() ? 0 : 1);
  }
  close(fds[1]);
  snapshot_pid_ = pid;
  const double fork_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - fork_start).count();
  spdlog::info("keeper: raft snapshot at zxid 0x{:x} started (pid {}, fork took {:.1f} ms)", sm_->last_zxid(), pid,
               fork_ms);
  state_reader_ = std::thread([this, fd = fds[0], pid, done = std::move(done)] {
    SetThreadName("keeper-snapread");
    std::string data;
    char buf[1 << 16];
    while (true) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    snapshot_pid_ = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      done(std::move(data));
    } else {
      done(Status(Code::kInternal, fmt::format("snapshot child exited with status {}", status)));
    }
  });
}

Status Core::LoadState(uint64_t index, std::string_view data) {
  Status result;
  RunOnCore([&] {
    DataTreeOptions tree_options = sm_->tree().options();
    if (data.empty()) {
      InstallState(std::make_unique<StateMachine>(tree_options));
      return;
    }
    StateMachine::Loader loader(tree_options);
    if (Status s = loader.Feed(data); !s.ok()) {
      result = Status(Code::kDataLoss, fmt::format("snapshot at index {}: {}", index, s.message()));
      return;
    }
    Result<std::unique_ptr<StateMachine>> loaded = loader.Finish(static_cast<int64_t>(index));
    if (!loaded.ok()) {
      result = Status(Code::kDataLoss, fmt::format("snapshot at index {}: {}", index, loaded.status().message()));
      return;
    }
    InstallState(std::move(*loaded));
  });
  return result;
}

void Core::ProposalFailed(uint64_t tag, Status why) {
  boost::asio::post(io_, [this, tag, why = std::move(why)] {
    OnProposalFailed(tag, why);
    Flush();
  });
}

void Core::SyncDone(uint64_t tag, Status status) {
  boost::asio::post(io_, [this, tag, status = std::move(status)] {
    OnSyncDone(tag, status);
    Flush();
  });
}

void Core::RoleChanged(MemberRole role, uint64_t leader, uint64_t term) {
  boost::asio::post(io_, [this, role, leader, term] {
    OnRoleChanged(role, leader, term);
    Flush();
  });
}

void Core::SessionsTouched(std::vector<int64_t> sessions) {
  boost::asio::post(io_, [this, sessions = std::move(sessions)] {
    const int64_t now = NowMs();
    for (int64_t id : sessions) {
      auto it = sessions_.find(id);
      if (it != sessions_.end() && !it->second.closing) it->second.deadline_ms = now + it->second.timeout_ms;
    }
  });
}

// ---------------------------------------------------------------- Core thread

void Core::Propose(PendingWrite pw) {
  pw.txn.time_ms = NowMs();
  pw.proposed_ms = pw.txn.time_ms;
  const uint64_t tag = next_tag_++;
  std::string entry;
  entry.reserve(kProposalOriginBytes + 64 + pw.txn.body.size() + pw.txn.client_ip.size());
  EncodeProposalOrigin(ProposalOrigin{replicator_->member_id(), tag}, &entry);
  EncodeTxn(pw.txn, &entry);
  proposed_.emplace(tag, std::move(pw));
  replicator_->Propose(std::move(entry), tag);
}

void Core::OnCommitted(uint64_t index, const std::string& entry) {
  std::string_view encoded;
  Result<ProposalOrigin> origin = DecodeProposalOrigin(entry, &encoded);
  Result<Txn> txn = origin.ok() ? DecodeTxn(encoded) : Result<Txn>(origin.status());
  if (!txn.ok()) {
    // Every member sees the same entry and skips it alike.
    spdlog::error("keeper: committed entry {} does not decode ({}); skipped", index, txn.status().ToString());
    return;
  }
  PendingWrite pw;
  auto it = origin->member == replicator_->member_id() ? proposed_.find(origin->tag) : proposed_.end();
  if (it != proposed_.end()) {
    pw = std::move(it->second);
    proposed_.erase(it);
  } else {
    pw.txn = std::move(*txn);  // another member's, or one whose client this member gave up on
  }
  pw.zxid = static_cast<int64_t>(index);
  ApplyOne(pw);
}

void Core::OnProposalFailed(uint64_t tag, const Status& why) {
  auto it = proposed_.find(tag);
  if (it == proposed_.end()) return;  // applied meanwhile, or already failed
  PendingWrite pw = std::move(it->second);
  proposed_.erase(it);
  spdlog::debug("keeper: proposal {} failed: {}", tag, why.ToString());
  if (pw.txn.opcode == static_cast<int32_t>(OpCode::kCloseSession) && !pw.conn) {
    // An expiry that did not go through: the next leader tick tries again.
    auto sit = sessions_.find(pw.txn.session_id);
    if (sit != sessions_.end()) sit->second.closing = false;
  }
  if (!pw.conn) return;
  --pw.conn->core.pending_writes;
  // The outcome is unknown to this member: the client learns it as a lost
  // connection, and, should the entry commit after all, it is applied
  // without an answer.
  DropConnection(pw.conn);
}

void Core::DropConnection(const std::shared_ptr<ZkConnection>& conn) {
  auto& cs = conn->core;
  if (cs.closing) return;
  cs.closing = true;
  cs.queue.clear();
  conn->Close();
}

void Core::StartSync(const std::shared_ptr<ZkConnection>& conn, IncomingRequest& req) {
  const auto& sync = std::get<zk::SyncRequest>(req.body);
  const uint64_t tag = next_tag_++;
  syncs_.emplace(tag, PendingSync{conn, req.xid, req.received_ns, sync.path});
  conn->core.syncing = true;
  replicator_->Sync(tag);
}

void Core::OnSyncDone(uint64_t tag, const Status& status) {
  auto it = syncs_.find(tag);
  if (it == syncs_.end()) return;
  PendingSync ps = std::move(it->second);
  syncs_.erase(it);
  auto& cs = ps.conn->core;
  cs.syncing = false;
  if (cs.closing) return;
  if (!status.ok()) {
    spdlog::info("keeper: sync failed ({}); closing the client's connection", status.ToString());
    DropConnection(ps.conn);
    return;
  }
  zk::ResponseBody rsp = zk::SyncResponse{ps.path};
  Reply(*ps.conn, ps.xid, sm_->last_zxid(), ErrorCode::kOk, &rsp);
  CountLatency(*ps.conn, ps.received_ns);
  Drain(ps.conn);
}

void Core::OnRoleChanged(MemberRole role, uint64_t leader, uint64_t term) {
  const MemberRole before = role_;
  const uint64_t leader_before = leader_;
  role_ = role;
  leader_ = leader;
  spdlog::info("keeper: member {} is now {} (leader {}, term {})", replicator_->member_id(), MemberRoleName(role),
               leader, term);
  if (role == MemberRole::kLeader && before != MemberRole::kLeader) {
    // A new leader has not heard from anyone yet: every session gets a full
    // timeout from now (as ZooKeeper's leader does at election).
    const int64_t now = NowMs();
    for (auto& [id, rt] : sessions_) {
      rt.deadline_ms = now + rt.timeout_ms;
      rt.closing = false;
    }
  }
  if (leader != leader_before) {
    // Proposals made under the old leader: those in the new leader's log
    // commit and are applied without an answer; the clients see a lost
    // connection and retry. (ZooKeeper's followers drop all their clients.)
    std::vector<uint64_t> tags;
    for (const auto& [tag, pw] : proposed_) tags.push_back(tag);
    for (uint64_t tag : tags) OnProposalFailed(tag, Status(Code::kUnavailable, "the leader changed"));
  }
}

void Core::ReplicationTick(int64_t now) {
  if (!decides() && !touched_.empty()) {
    replicator_->TouchSessions(std::vector<int64_t>(touched_.begin(), touched_.end()));
    touched_.clear();
  }
  std::vector<uint64_t> late;
  for (const auto& [tag, pw] : proposed_)
    if (now - pw.proposed_ms > proposal_timeout_ms_) late.push_back(tag);
  for (uint64_t tag : late) OnProposalFailed(tag, Status(Code::kDeadlineExceeded, "not committed in time"));
}

void Core::InstallState(std::unique_ptr<StateMachine> sm) {
  // A snapshot replaces the tree: watches are gone, so the clients of this
  // member reconnect and set them again (as a ZooKeeper follower that
  // resyncs drops its clients).
  for (auto& [id, weak] : connections_)
    if (auto conn = weak.lock()) DropConnection(conn);
  sm_ = std::move(sm);
  sessions_.clear();
  const int64_t now = NowMs();
  const int64_t mine = static_cast<int64_t>(replicator_->member_id() & 0x7f);
  for (const auto& [id, timeout] : sm_->sessions()) {
    sessions_[id] = SessionRt{timeout, now + timeout, nullptr, false};
    if ((id >> 56) == mine) last_session_id_ = std::max(last_session_id_, id);
  }
}

std::string Core::ReplicationFourLetterLines(bool mntr) const {
  if (!replicated()) return mntr ? "zk_server_state\tstandalone\n" : "Mode: standalone\n";
  ReplicationStatus st = replicator_->GetStatus();
  if (!mntr) return fmt::format("Mode: {}\n", MemberRoleName(st.role));
  std::string s = fmt::format(
      "zk_server_state\t{}\nzk_raft_member\t{}\nzk_raft_leader\t{}\nzk_raft_term\t{}\nzk_raft_commit_index\t{}\n"
      "zk_raft_applied_index\t{}\nzk_raft_snapshot_index\t{}\n",
      MemberRoleName(st.role), st.member, st.leader, st.term, st.commit, st.applied, st.snapshot_index);
  if (st.role == MemberRole::kLeader) {
    int followers = 0, synced = 0;
    for (const auto& p : st.peers) {
      if (p.id == st.member) continue;
      ++followers;
      if (p.lag == 0) ++synced;
      s += fmt::format("zk_raft_follower_lag_{}\t{}\n", p.id, p.lag);
    }
    s += fmt::format("zk_followers\t{}\nzk_synced_followers\t{}\n", followers, synced);
  }
  return s;
}

std::string Core::ReplicationMetrics() const {
  if (!replicated()) return {};
  ReplicationStatus st = replicator_->GetStatus();
  std::string s;
  s += "# HELP keeper_raft_role This member's role: 0 looking, 1 follower, 2 leader, 3 observer.\n"
       "# TYPE keeper_raft_role gauge\n";
  int role = st.role == MemberRole::kLeader ? 2 : st.role == MemberRole::kFollower ? 1
             : st.role == MemberRole::kObserver ? 3 : 0;
  s += fmt::format("keeper_raft_role {}\n", role);
  s += fmt::format("# TYPE keeper_raft_term gauge\nkeeper_raft_term {}\n", st.term);
  s += fmt::format("# TYPE keeper_raft_commit_index gauge\nkeeper_raft_commit_index {}\n", st.commit);
  s += fmt::format("# TYPE keeper_raft_applied_index gauge\nkeeper_raft_applied_index {}\n", st.applied);
  s += fmt::format("# TYPE keeper_raft_leader gauge\nkeeper_raft_leader {}\n", st.leader);
  s += fmt::format("# TYPE keeper_raft_forwarded_total counter\nkeeper_raft_forwarded_total {}\n",
                   st.proposals_forwarded);
  s += fmt::format("# TYPE keeper_raft_forward_failures_total counter\n"
                   "keeper_raft_forward_failures_total {}\n",
                   st.forward_failures);
  if (st.role == MemberRole::kLeader) {
    s += "# HELP keeper_raft_follower_lag Entries the leader committed that the member has not matched.\n"
         "# TYPE keeper_raft_follower_lag gauge\n";
    for (const auto& p : st.peers)
      if (p.id != st.member) s += fmt::format("keeper_raft_follower_lag{{member=\"{}\"}} {}\n", p.id, p.lag);
  }
  return s;
}

}  // namespace dougong::keeper
