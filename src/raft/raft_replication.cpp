// Log replication: appends, heartbeats, snapshots, flow control, commit.
#include "raft/raft.h"

#include <algorithm>

#include "raft/quorum.h"

namespace dougong::raft {

Status Raft::HandleAppend(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  if (m.index < log_.commit()) {
    resp.index = log_.commit();
    Send(std::move(resp));
    return Status::Ok();
  }
  if (log_.MatchTerm(m.index, m.log_term)) {
    uint64_t last_new = m.index + m.entries.size();
    Status s = log_.AppendFollowing(m.entries);
    if (!s.ok()) return s;  // only a broken leader sends this
    CommitTo(std::min(m.commit, last_new));
    resp.index = last_new;
    Send(std::move(resp));
    return Status::Ok();
  }
  // Rejection with a hint for fast back-tracking.
  resp.reject = true;
  resp.index = m.index;
  if (m.index > log_.last_index()) {
    resp.log_term = 0;
    resp.reject_hint = log_.last_index() + 1;
  } else {
    uint64_t conflict_term = *log_.Term(m.index);
    uint64_t k = m.index;
    while (k > log_.commit() + 1 && log_.MatchTerm(k - 1, conflict_term)) --k;
    resp.log_term = conflict_term;
    resp.reject_hint = k;
  }
  Send(std::move(resp));
  return Status::Ok();
}

void Raft::HandleHeartbeat(const Message& m) {
  CommitTo(std::min(m.commit, log_.last_index()));
  Message resp;
  resp.type = MessageType::kHeartbeatResp;
  resp.to = m.from;
  resp.context = m.context;
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  const SnapshotMeta& meta = m.snapshot.meta;
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  if (meta.index <= log_.commit()) {
    resp.index = log_.commit();
  } else if (log_.MatchTerm(meta.index, meta.term)) {
    // We have the entries already: just fast-forward the commit index.
    CommitTo(meta.index);
    resp.index = meta.index;
  } else {
    log_.Restore(meta);
    pending_snapshot_ = m.snapshot;
    conf_ = meta.conf;
    conf_history_.clear();
    applied_ = meta.index;
    resp.index = meta.index;
  }
  Send(std::move(resp));
}

void Raft::CommitTo(uint64_t index) {
  uint64_t old = log_.commit();
  if (index <= old) return;
  log_.CommitTo(index);
  for (uint64_t i = old + 1; i <= index; ++i) {
    const Entry& e = log_.At(i);
    if (e.type != EntryType::kConfChange) continue;
    Result<ConfChange> cc = DecodeConfChange(e.data);
    if (cc.ok()) ApplyConfChange(i, *cc);
  }
}

bool Raft::MaybeCommit() {
  if (role_ != Role::kLeader) return false;
  uint64_t index = QuorumIndex(conf_.voters, [this](NodeId id) -> uint64_t {
    auto it = prs_.find(id);
    return it == prs_.end() ? 0 : it->second.match;
  });
  // §5.4.2: only entries of the current term are committed by counting.
  if (index > log_.commit() && log_.MatchTerm(index, term_)) {
    CommitTo(index);
    return true;
  }
  return false;
}

bool Raft::MaybeSendAppend(NodeId to, bool send_if_empty) {
  auto it = prs_.find(to);
  if (it == prs_.end() || to == cfg_.id) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  Result<uint64_t> prev_term = log_.Term(pr.next - 1);
  if (!prev_term.ok()) {
    SendSnapshot(to, pr);
    return true;
  }
  std::vector<Entry> ents = log_.Slice(pr.next, log_.last_index() + 1, cfg_.max_size_per_msg);
  if (ents.empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = pr.next - 1;
  m.log_term = *prev_term;
  m.commit = log_.commit();
  if (!ents.empty()) {
    uint64_t bytes = 0;
    for (const Entry& e : ents) bytes += EntryBytes(e);
    pr.SentEntries(ents.back().index, bytes);
  } else if (pr.state == ProgressState::kProbe) {
    pr.probe_sent = true;
  }
  m.entries = std::move(ents);
  Send(std::move(m));
  return true;
}

void Raft::SendSnapshot(NodeId to, Progress& pr) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = cfg_.id;
  m.to = to;
  m.term = term_;
  m.snapshot.meta = log_.snapshot();
  pr.BecomeSnapshot(m.snapshot.meta.index);
  snap_msgs_.push_back(std::move(m));
}

void Raft::BcastAppend() {
  for (auto& [id, pr] : prs_) {
    if (id != cfg_.id) MaybeSendAppend(id, true);
  }
}

void Raft::BcastHeartbeat() {
  const std::string* ctx = read_only_.LastContext();
  for (auto& [id, pr] : prs_) {
    if (id == cfg_.id) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    // Only what the follower is known to have: it may hold stale entries.
    m.commit = std::min(pr.match, log_.commit());
    if (ctx != nullptr) m.context = *ctx;
    Send(std::move(m));
  }
}

void Raft::HandleAppendResp(const Message& m) {
  auto it = prs_.find(m.from);
  if (it == prs_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.reject) {
    if (m.log_term == 0 && m.reject_hint <= pr.match) {
      // Its log ends before entries it acknowledged: the member lost its
      // log (restarted on a wiped data dir with its old membership). Every
      // later rejection would look stale, so start over from what it has;
      // the commit index never goes back, and a snapshot follows if needed.
      pr.match = m.reject_hint - 1;
      if (pr.state == ProgressState::kSnapshot) pr.state = ProgressState::kProbe;
      pr.BecomeProbe();
      MaybeSendAppend(m.from, true);
      return;
    }
    uint64_t probe_next = m.reject_hint;
    if (m.log_term > 0) {
      // Skip the follower's whole conflicting term: resume after our last
      // entry of that term if we have one, else at its first index there.
      uint64_t k = std::min(m.index, log_.last_index());
      while (k > log_.snapshot_index() && *log_.Term(k) > m.log_term) --k;
      if (k >= log_.snapshot_index() && log_.MatchTerm(k, m.log_term)) probe_next = k + 1;
    }
    if (pr.MaybeDecrTo(m.index, probe_next)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      MaybeSendAppend(m.from, true);
    }
    return;
  }
  bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index) && !(pr.match == m.index && pr.state == ProgressState::kProbe)) return;
  if (pr.state == ProgressState::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kSnapshot && pr.match + 1 >= log_.first_index()) {
    pr.BecomeProbe();
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kReplicate) {
    pr.inflights.FreeLE(m.index);
  }
  if (MaybeCommit()) {
    if (role_ != Role::kLeader) return;
    BcastAppend();
  } else if (was_paused) {
    MaybeSendAppend(m.from, true);
  }
  auto again = prs_.find(m.from);
  if (again == prs_.end()) return;
  // Pipelining: keep sending while the flow control allows.
  while (MaybeSendAppend(m.from, false)) {
  }
  if (m.from == transferee_ && again->second.match == log_.last_index()) SendTimeoutNow(m.from);
}

void Raft::HandleHeartbeatResp(const Message& m) {
  auto it = prs_.find(m.from);
  if (it == prs_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirst();
  if (pr.match < log_.last_index() || pr.state == ProgressState::kProbe) MaybeSendAppend(m.from, true);
  if (m.context.empty()) return;
  const std::set<NodeId>* acks = read_only_.Ack(m.context, m.from);
  if (acks == nullptr || !HasQuorum(conf_.voters, *acks)) return;
  for (const ReadRequest& req : read_only_.ReleaseThrough(m.context)) RespondRead(req);
}

Result<uint64_t> Raft::Propose(std::string data) {
  if (role_ != Role::kLeader) return Unavailable("raft: not the leader");
  if (transferee_ != kNoNode) return Unavailable("raft: leadership transfer in progress");
  uint64_t index = log_.last_index() + 1;
  log_.Append(Entry{index, term_, EntryType::kNormal, std::move(data)});
  BcastAppend();
  return index;
}

void Raft::ReportSnapshot(NodeId to, bool ok) {
  if (role_ != Role::kLeader) return;
  auto it = prs_.find(to);
  if (it == prs_.end() || it->second.state != ProgressState::kSnapshot) return;
  Progress& pr = it->second;
  if (!ok) pr.pending_snapshot = 0;
  pr.BecomeProbe();
  // Wait for the follower's answer (or a heartbeat) before probing.
  pr.probe_sent = true;
}

void Raft::ReportUnreachable(NodeId to) {
  if (role_ != Role::kLeader) return;
  auto it = prs_.find(to);
  if (it != prs_.end() && it->second.state == ProgressState::kReplicate) it->second.BecomeProbe();
}

}  // namespace dougong::raft
