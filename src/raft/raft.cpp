// Raft: construction, roles, ticks, message dispatch and the Ready cycle.
#include "raft/raft.h"

#include <algorithm>

#include "raft/quorum.h"

namespace dougong::raft {

Raft::Raft(const Config& config) : cfg_(config), rng_state_(config.seed) {}

Result<std::unique_ptr<Raft>> Raft::Create(const Config& config, InitialState state) {
  if (config.id == kNoNode) return InvalidArgument("raft: node id 0");
  if (config.heartbeat_tick < 1 || config.election_tick <= config.heartbeat_tick) {
    return InvalidArgument("raft: need 1 <= heartbeat_tick < election_tick");
  }
  if (config.max_inflight_msgs < 1) return InvalidArgument("raft: max_inflight_msgs < 1");
  if (config.lease_read && !config.check_quorum) return InvalidArgument("raft: lease_read needs check_quorum");
  std::unique_ptr<Raft> r(new Raft(config));
  Status s = r->log_.Load(state.snapshot, std::move(state.entries), state.hard_state.commit);
  if (!s.ok()) return s;
  r->term_ = state.hard_state.term;
  r->vote_ = state.hard_state.vote;
  r->applied_ = state.snapshot.index;
  r->conf_ = state.snapshot.conf;
  // Configuration changes take effect when committed: replay those.
  for (uint64_t i = r->log_.first_index(); i <= r->log_.commit(); ++i) {
    const Entry& e = r->log_.At(i);
    if (e.type != EntryType::kConfChange) continue;
    Result<ConfChange> cc = DecodeConfChange(e.data);
    if (!cc.ok()) return Status(Code::kDataLoss, "raft: bad conf change entry in log");
    ApplyConfChangeTo(r->conf_, *cc);
    r->conf_history_.emplace_back(i, r->conf_);
  }
  r->BecomeFollower(r->term_, kNoNode);
  r->prev_hard_state_ = HardState{r->term_, r->vote_, r->log_.commit()};
  return r;
}

uint64_t Raft::NextRandom() {
  // splitmix64
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void Raft::ResetTimers() {
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_timeout_ = cfg_.election_tick + static_cast<int>(NextRandom() % cfg_.election_tick);
}

void Raft::BecomeFollower(uint64_t term, NodeId lead) {
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  role_ = Role::kFollower;
  lead_ = lead;
  ResetTimers();
  votes_.clear();
  prs_.clear();
  transferee_ = kNoNode;
  read_only_.Reset();
}

void Raft::BecomePreCandidate() {
  // The term does not change: a pre-vote that fails leaves no trace.
  role_ = Role::kPreCandidate;
  lead_ = kNoNode;
  votes_.clear();
  prs_.clear();
  read_only_.Reset();
  int elapsed = election_elapsed_;
  ResetTimers();
  election_elapsed_ = elapsed;
}

void Raft::BecomeCandidate() {
  term_ += 1;
  vote_ = cfg_.id;
  role_ = Role::kCandidate;
  lead_ = kNoNode;
  ResetTimers();
  votes_.clear();
  prs_.clear();
  read_only_.Reset();
}

void Raft::BecomeLeader() {
  role_ = Role::kLeader;
  lead_ = cfg_.id;
  ResetTimers();
  votes_.clear();
  transferee_ = kNoNode;
  read_only_.Reset();
  prs_.clear();
  uint64_t next = log_.last_index() + 1;
  for (NodeId id : conf_.voters) prs_.try_emplace(id, next, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes, false);
  for (NodeId id : conf_.learners) prs_.try_emplace(id, next, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes, true);
  for (auto& [id, pr] : prs_) pr.recent_active = true;
  auto self = prs_.find(cfg_.id);
  if (self != prs_.end()) {
    self->second.BecomeReplicate();
    self->second.MaybeUpdate(log_.stable_index());
  }
  // Commit an entry of this term first: it commits the previous terms'
  // entries (§5.4.2), and gates config changes and ReadIndex.
  log_.Append(Entry{log_.last_index() + 1, term_, EntryType::kNoOp, {}});
  pending_conf_index_ = log_.last_index();
  BcastAppend();
}

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    TickLeader();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    StartElection(cfg_.pre_vote ? ElectionKind::kPreVote : ElectionKind::kElection);
  }
}

void Raft::TickLeader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_tick) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      if (!QuorumActive()) {
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : prs_) pr.recent_active = id == cfg_.id;
    }
    // A transfer that did not finish within an election timeout is abandoned.
    if (transferee_ != kNoNode) AbortTransfer();
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    BcastHeartbeat();
  }
}

bool Raft::QuorumActive() const {
  std::set<NodeId> active;
  for (const auto& [id, pr] : prs_) {
    if (pr.recent_active || id == cfg_.id) active.insert(id);
  }
  return HasQuorum(conf_.voters, active);
}

void Raft::Send(Message m) {
  m.from = cfg_.id;
  if (m.term == 0) m.term = term_;
  msgs_.push_back(std::move(m));
}

Status Raft::Step(const Message& m) {
  if (m.from == kNoNode || m.from == cfg_.id) return InvalidArgument("raft: bad message sender");
  if (m.to != cfg_.id) return InvalidArgument("raft: message for another node");
  bool vote_request = m.type == MessageType::kPreVote || m.type == MessageType::kVote;
  bool from_leader =
      m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat || m.type == MessageType::kSnapshot;

  if (m.term > term_) {
    if (vote_request && !m.transfer && cfg_.check_quorum && lead_ != kNoNode &&
        election_elapsed_ < cfg_.election_tick) {
      // We heard from a leader within the election timeout: keep it.
      return Status::Ok();
    }
    if (m.type == MessageType::kPreVote) {
      // A pre-vote does not change our term.
    } else if (m.type == MessageType::kPreVoteResp && !m.reject) {
      // Granted pre-votes carry the term we will campaign with.
    } else {
      BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A stale leader (e.g. after a partition) learns our term and steps
      // down; otherwise it could keep a quorum of followers from electing.
      Message resp;
      resp.type = MessageType::kAppendResp;
      resp.to = m.from;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResp;
      resp.to = m.from;
      resp.reject = true;
      Send(std::move(resp));
    }
    return Status::Ok();
  }

  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      HandleVoteRequest(m);
      return Status::Ok();
    case MessageType::kPreVoteResp:
      if (role_ == Role::kPreCandidate) Poll(m.from, !m.reject);
      return Status::Ok();
    case MessageType::kVoteResp:
      if (role_ == Role::kCandidate) Poll(m.from, !m.reject);
      return Status::Ok();
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      if (role_ == Role::kLeader) return Status::Ok();  // same-term leader: impossible
      if (m.type == MessageType::kSnapshot && m.snapshot.empty()) {
        return InvalidArgument("raft: snapshot message without snapshot");
      }
      for (size_t i = 0; i < m.entries.size(); ++i) {
        if (m.entries[i].index != m.index + 1 + i) return InvalidArgument("raft: entries not contiguous");
      }
      if (role_ != Role::kFollower) BecomeFollower(term_, m.from);
      lead_ = m.from;
      election_elapsed_ = 0;
      if (m.type == MessageType::kAppend) {
        return HandleAppend(m);
      } else if (m.type == MessageType::kHeartbeat) {
        HandleHeartbeat(m);
      } else {
        HandleSnapshot(m);
      }
      return Status::Ok();
    case MessageType::kAppendResp:
      if (role_ == Role::kLeader) HandleAppendResp(m);
      return Status::Ok();
    case MessageType::kHeartbeatResp:
      if (role_ == Role::kLeader) HandleHeartbeatResp(m);
      return Status::Ok();
    case MessageType::kTimeoutNow:
      if (role_ != Role::kLeader && Promotable()) StartElection(ElectionKind::kTransfer);
      return Status::Ok();
    case MessageType::kReadIndex:
      if (role_ == Role::kLeader) {
        Status s = HandleReadRequest(m.context, m.from);
        if (!s.ok()) {
          Message resp;
          resp.type = MessageType::kReadIndexResp;
          resp.to = m.from;
          resp.reject = true;
          resp.context = m.context;
          Send(std::move(resp));
        }
      }
      return Status::Ok();
    case MessageType::kReadIndexResp:
      if (!m.reject && role_ == Role::kFollower) read_states_.push_back(ReadState{m.index, m.context});
      return Status::Ok();
  }
  return InvalidArgument("raft: unknown message type");
}

Result<SnapshotMeta> Raft::Compact(uint64_t index) {
  if (index > applied_) return FailedPrecondition("raft: compact beyond the applied index");
  if (index <= log_.snapshot_index()) return FailedPrecondition("raft: already compacted");
  ConfState conf = ConfAt(index);
  Status s = log_.CompactTo(index, conf);
  if (!s.ok()) return s;
  conf_history_.erase(std::remove_if(conf_history_.begin(), conf_history_.end(),
                                     [index](const auto& h) { return h.first <= index; }),
                      conf_history_.end());
  return log_.snapshot();
}

bool Raft::HasReady() const {
  return HardState{term_, vote_, log_.commit()} != prev_hard_state_ || log_.HasUnstable() || !msgs_.empty() ||
         !snap_msgs_.empty() || applied_ < log_.commit() || !read_states_.empty();
}

Ready Raft::GetReady() {
  Ready rd;
  HardState hs{term_, vote_, log_.commit()};
  if (hs != prev_hard_state_) {
    rd.hard_state = hs;
    prev_hard_state_ = hs;
  }
  if (log_.has_pending_snapshot()) rd.snapshot = pending_snapshot_;
  rd.entries = log_.UnstableEntries();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.snapshots_to_send = std::move(snap_msgs_);
  snap_msgs_.clear();
  for (uint64_t i = std::max(applied_ + 1, log_.first_index()); i <= log_.commit(); ++i) {
    rd.committed_entries.push_back(log_.At(i));
  }
  applied_ = std::max(applied_, log_.commit());
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  return rd;
}

void Raft::Advance(const Ready& rd) {
  if (!rd.snapshot.empty() && rd.snapshot.meta.index == log_.snapshot_index()) {
    log_.SnapshotStable();
    pending_snapshot_ = Snapshot{};
  }
  if (!rd.entries.empty()) log_.StableTo(rd.entries.back().index, rd.entries.back().term);
  if (role_ != Role::kLeader) return;
  // The leader counts its own entries only once they are durable.
  auto self = prs_.find(cfg_.id);
  if (self != prs_.end() && self->second.MaybeUpdate(log_.stable_index())) {
    if (MaybeCommit() && role_ == Role::kLeader) BcastAppend();
  }
}

CoreStatus Raft::GetStatus() const {
  CoreStatus st;
  st.id = cfg_.id;
  st.role = role_;
  st.leader = lead_;
  st.hard_state = HardState{term_, vote_, log_.commit()};
  st.applied = applied_;
  st.first_index = log_.first_index();
  st.last_index = log_.last_index();
  st.snapshot_index = log_.snapshot_index();
  st.transferee = transferee_;
  st.conf = conf_;
  for (const auto& [id, pr] : prs_) st.progress.push_back(ProgressInfo{id, pr.match, pr.next, pr.is_learner});
  return st;
}

}  // namespace dougong::raft
