// Membership changes (single-server) and leadership transfer.
#include "raft/raft.h"

namespace dougong::raft {

void Raft::ApplyConfChange(uint64_t index, const ConfChange& cc) {
  ApplyConfChangeTo(conf_, cc);
  conf_history_.emplace_back(index, conf_);
  if (role_ != Role::kLeader) return;
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
    case ConfChangeType::kAddLearner: {
      bool learner = conf_.IsLearner(cc.node);
      auto it = prs_.find(cc.node);
      if (it != prs_.end()) {
        it->second.is_learner = learner;
      } else {
        auto [pit, ok] = prs_.try_emplace(cc.node, log_.last_index() + 1, cfg_.max_inflight_msgs,
                                          cfg_.max_inflight_bytes, learner);
        pit->second.recent_active = true;
      }
      break;
    }
    case ConfChangeType::kRemoveNode:
      if (cc.node != cfg_.id) prs_.erase(cc.node);
      if (transferee_ == cc.node) AbortTransfer();
      break;
  }
  if (!conf_.IsVoter(cfg_.id)) {
    // Removed (or demoted): tell the others the commit index, then step down.
    BcastAppend();
    BecomeFollower(term_, kNoNode);
  }
}

ConfState Raft::ConfAt(uint64_t index) const {
  ConfState conf = log_.snapshot().conf;
  for (const auto& [i, c] : conf_history_) {
    if (i > index) break;
    conf = c;
  }
  return conf;
}

void Raft::SendTimeoutNow(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  Send(std::move(m));
}

Result<uint64_t> Raft::ProposeConfChange(const ConfChange& change) {
  if (role_ != Role::kLeader) return Unavailable("raft: not the leader");
  if (transferee_ != kNoNode) return Unavailable("raft: leadership transfer in progress");
  // One change at a time, and only after an entry of this term committed
  // (the single-server change safety fix).
  if (log_.commit() < pending_conf_index_) {
    return FailedPrecondition("raft: a configuration change or the leader's first entry is pending");
  }
  Status s = ValidateConfChange(conf_, change);
  if (!s.ok()) return s;
  uint64_t index = log_.last_index() + 1;
  log_.Append(Entry{index, term_, EntryType::kConfChange, EncodeConfChange(change)});
  pending_conf_index_ = index;
  BcastAppend();
  return index;
}

Status Raft::TransferLeadership(NodeId to) {
  if (role_ != Role::kLeader) return Unavailable("raft: not the leader");
  if (to == cfg_.id) return Status::Ok();
  if (!conf_.IsVoter(to)) return InvalidArgument("raft: transfer target is not a voter");
  auto it = prs_.find(to);
  if (it == prs_.end()) return InvalidArgument("raft: transfer target unknown");
  if (transferee_ == to) return Status::Ok();
  transferee_ = to;
  election_elapsed_ = 0;  // the abort timer
  if (it->second.match == log_.last_index()) {
    SendTimeoutNow(to);
  } else {
    MaybeSendAppend(to, true);
  }
  return Status::Ok();
}

}  // namespace dougong::raft
