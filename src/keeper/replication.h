// Replication: how the keeper's Core hands its transactions to a replicated
// log (Raft, src/keeper/raft/) instead of its own TxnLog, without knowing
// Raft. docs/replicated_keeper.md explains the design.
//
// The Core proposes encoded txns with a tag; the replicator makes them
// entries of the log and calls ReplicationHost::Committed for every
// committed entry, in index order, on every member (the entry's index is
// the zxid). The Core recognizes its own proposals by the tag carried in the
// entry (ProposalOrigin), answers their clients, and applies the others
// without a client. A proposal whose outcome this member cannot learn
// (leader lost, forward failed) is reported once with ProposalFailed: the
// Core closes that client's connection (the client sees CONNECTIONLOSS and
// may retry), and, should the entry commit after all, applies it without an
// answer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::keeper {

// Carried in front of each replicated txn: which member proposed it, and
// that member's tag for it.
struct ProposalOrigin {
  uint64_t member = 0;
  uint64_t tag = 0;
};
inline constexpr size_t kProposalOriginBytes = 16;
void EncodeProposalOrigin(const ProposalOrigin& origin, std::string* out);
// Splits an entry into its origin and the encoded Txn.
Result<ProposalOrigin> DecodeProposalOrigin(std::string_view entry, std::string_view* txn);

enum class MemberRole { kStandalone, kLeader, kFollower, kObserver, kNone };
const char* MemberRoleName(MemberRole role);

// What the replicator calls back. Thread-safe: the Core posts to its thread.
class ReplicationHost {
 public:
  virtual ~ReplicationHost() = default;
  // A committed entry, in index order (every member, every entry it applies).
  virtual void Committed(uint64_t index, std::string entry) = 0;
  // The whole state as of the last Committed entry (blocks until written).
  virtual std::string SaveState() = 0;
  // The same without blocking: captures the state as of the Committed
  // entries so far, and hands its bytes to `done` later (any thread).
  // False: not possible now (use SaveState).
  virtual bool SaveStateAsync(std::function<void(Result<std::string>)> done) = 0;
  // Replaces the state with a snapshot's, taken at `index`.
  virtual Status LoadState(uint64_t index, std::string_view data) = 0;
  virtual void ProposalFailed(uint64_t tag, Status why) = 0;
  // Sync(tag) finished: OK once this member applied up to a read index
  // confirmed by a quorum of the current leader.
  virtual void SyncDone(uint64_t tag, Status status) = 0;
  // This member's role changed (or the leader it follows).
  virtual void RoleChanged(MemberRole role, uint64_t leader, uint64_t term) = 0;
  // On the leader: sessions that members heard from since their last report.
  virtual void SessionsTouched(std::vector<int64_t> sessions) = 0;
};

// Role, log positions and, on the leader, each follower's progress: for
// four-letter words and /metrics.
struct ReplicationStatus {
  MemberRole role = MemberRole::kNone;
  uint64_t member = 0;
  uint64_t leader = 0;
  uint64_t term = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t snapshot_index = 0;
  struct Peer {
    uint64_t id = 0;
    bool voter = true;
    uint64_t match = 0;  // leader only: the follower's last matching index
    uint64_t lag = 0;    // leader only: commit - match
  };
  std::vector<Peer> peers;
  uint64_t proposals_forwarded = 0;
  uint64_t forward_failures = 0;
};

class Replicator {
 public:
  virtual ~Replicator() = default;
  // Before the Core serves: restores the state through host->LoadState
  // (inline, on the calling thread) and opens the log.
  virtual Status Open(ReplicationHost* host) = 0;
  // Starts replicating (Committed calls begin); after the Core runs.
  virtual Status Start() = 0;
  // Stops calling the host; before the Core stops.
  virtual void Stop() = 0;

  virtual uint64_t member_id() const = 0;
  // A cluster-wide secret for session passwords (the same on every member).
  virtual std::string session_secret() const = 0;
  // Core thread. The entry is EncodeProposalOrigin + EncodeTxn.
  virtual void Propose(std::string entry, uint64_t tag) = 0;
  // Core thread, after each round of handlers: sends what Propose gathered.
  virtual void Flush() = 0;
  virtual void Sync(uint64_t tag) = 0;
  // Followers: report sessions heard from to the leader.
  virtual void TouchSessions(std::vector<int64_t> sessions) = 0;
  virtual ReplicationStatus GetStatus() const = 0;
};

}  // namespace dougong::keeper
