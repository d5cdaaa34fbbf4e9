// Elections: pre-vote, vote requests and tallies.
#include "raft/raft.h"

#include "raft/quorum.h"

namespace dougong::raft {

namespace {

MessageType ResponseType(MessageType t) {
  return t == MessageType::kPreVote ? MessageType::kPreVoteResp : MessageType::kVoteResp;
}

}  // namespace

void Raft::StartElection(ElectionKind kind) {
  if (kind == ElectionKind::kPreVote) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  MessageType type = kind == ElectionKind::kPreVote ? MessageType::kPreVote : MessageType::kVote;
  uint64_t term = kind == ElectionKind::kPreVote ? term_ + 1 : term_;
  Poll(cfg_.id, true);
  if (role_ != Role::kPreCandidate && role_ != Role::kCandidate) return;  // won alone
  if ((kind == ElectionKind::kPreVote) != (role_ == Role::kPreCandidate)) return;
  for (NodeId id : conf_.voters) {
    if (id == cfg_.id) continue;
    Message m;
    m.type = type;
    m.to = id;
    m.term = term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.transfer = kind == ElectionKind::kTransfer;
    Send(std::move(m));
  }
}

void Raft::Poll(NodeId from, bool granted) {
  votes_.emplace(from, granted);
  switch (TallyVotes(conf_.voters, votes_)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        StartElection(ElectionKind::kElection);
      } else {
        BecomeLeader();
      }
      break;
    case VoteResult::kLost:
      BecomeFollower(term_, kNoNode);
      break;
    case VoteResult::kPending:
      break;
  }
}

void Raft::HandleVoteRequest(const Message& m) {
  bool pre = m.type == MessageType::kPreVote;
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) || (pre && m.term > term_);
  Message resp;
  resp.type = ResponseType(m.type);
  resp.to = m.from;
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    resp.term = m.term;
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.reject = true;
  }
  Send(std::move(resp));
}

Status Raft::Campaign() {
  if (!Promotable()) return FailedPrecondition("raft: not a voter");
  if (role_ == Role::kLeader) return Status::Ok();
  StartElection(cfg_.pre_vote ? ElectionKind::kPreVote : ElectionKind::kElection);
  return Status::Ok();
}

}  // namespace dougong::raft
