// Raft: the state machine behind dougong::raft::Core (see core.h for the
// contract). Single-threaded and deterministic.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dougong/raft/core.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/read_only.h"

namespace dougong::raft {

class Raft {
 public:
  static Result<std::unique_ptr<Raft>> Create(const Config& config, InitialState state);

  void Tick();
  Status Step(const Message& m);
  Result<uint64_t> Propose(std::string data);
  Result<uint64_t> ProposeConfChange(const ConfChange& change);
  Status ReadIndex(std::string context);
  Status TransferLeadership(NodeId to);
  Status Campaign();
  Result<SnapshotMeta> Compact(uint64_t index);
  void ReportSnapshot(NodeId to, bool ok);
  void ReportUnreachable(NodeId to);

  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  CoreStatus GetStatus() const;
  NodeId id() const { return cfg_.id; }
  Role role() const { return role_; }
  NodeId leader() const { return lead_; }
  uint64_t term() const { return term_; }
  const RaftLog& log() const { return log_; }

 private:
  enum class ElectionKind { kPreVote, kElection, kTransfer };

  explicit Raft(const Config& config);

  bool Promotable() const { return conf_.IsVoter(cfg_.id); }
  bool CommittedInTerm() const { return log_.MatchTerm(log_.commit(), term_); }
  void ResetTimers();
  void BecomeFollower(uint64_t term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void StartElection(ElectionKind kind);
  void Poll(NodeId from, bool granted);
  void TickElection();
  void TickLeader();

  void Send(Message m);
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  void SendSnapshot(NodeId to, Progress& pr);
  void SendTimeoutNow(NodeId to);
  void BcastAppend();
  void BcastHeartbeat();
  bool QuorumActive() const;

  // Advances the commit index, applying configuration changes it covers.
  void CommitTo(uint64_t index);
  // Leader: commits what a quorum acknowledged, if of the current term.
  bool MaybeCommit();
  void ApplyConfChange(uint64_t index, const ConfChange& cc);
  ConfState ConfAt(uint64_t index) const;
  void AbortTransfer() { transferee_ = kNoNode; }

  void HandleVoteRequest(const Message& m);
  Status HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResp(const Message& m);
  void HandleHeartbeatResp(const Message& m);
  Status HandleReadRequest(std::string context, NodeId from);
  void RespondRead(const ReadRequest& req);

  uint64_t NextRandom();

  Config cfg_;
  uint64_t rng_state_;
  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  Role role_ = Role::kFollower;
  NodeId lead_ = kNoNode;
  RaftLog log_;
  ConfState conf_;
  // Configurations applied since the log's snapshot, by entry index.
  std::vector<std::pair<uint64_t, ConfState>> conf_history_;
  std::map<NodeId, Progress> prs_;  // leader only, includes self
  std::map<NodeId, bool> votes_;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  NodeId transferee_ = kNoNode;
  uint64_t pending_conf_index_ = 0;
  ReadOnly read_only_;
  uint64_t applied_ = 0;

  // Outputs accumulated for the next Ready.
  std::vector<Message> msgs_;
  std::vector<Message> snap_msgs_;
  std::vector<ReadState> read_states_;
  Snapshot pending_snapshot_;
  HardState prev_hard_state_;
};

}  // namespace dougong::raft
