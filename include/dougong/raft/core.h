// Core: a pure, deterministic Raft state machine (in the style of etcd's raft
// package). No threads, sockets, disk or clocks: the caller feeds it ticks,
// messages and proposals, and drains Ready batches of work to do.
//
// The driver loop:
//   1. call Tick() at a fixed rate, Step() for each received message, and
//      Propose()/ReadIndex()/... for client requests;
//   2. while HasReady(): ready = GetReady();
//        a. persist ready.snapshot (if any), then ready.entries (they replace
//           any stored entries with index >= entries.front().index), then
//           ready.hard_state (if any), durably;
//        b. only then send ready.messages and hand ready.snapshots_to_send to
//           the snapshot transport (they may depend on what was persisted);
//        c. install ready.snapshot into the application, then apply
//           ready.committed_entries in order; serve ready.read_states once the
//           applied index reaches each one's index;
//        d. Advance(ready).
// Between GetReady() and Advance() the core may keep stepping; the next
// GetReady() must come after Advance().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/raft/types.h"

namespace dougong::raft {

struct Config {
  NodeId id = kNoNode;
  // Ticks a follower waits for the leader before campaigning; the actual
  // timeout is drawn from [election_tick, 2 * election_tick).
  int election_tick = 10;
  int heartbeat_tick = 1;
  // Seeds the PRNG for randomized election timeouts (deterministic).
  uint64_t seed = 1;
  // A candidate first asks whether it could win (no term bump), so a
  // partitioned node cannot disrupt a stable leader when it rejoins.
  bool pre_vote = true;
  // The leader steps down when it has not heard from a quorum for an
  // election timeout; followers that heard from a leader recently ignore
  // votes (the leader's "lease").
  bool check_quorum = true;
  // ReadIndex answered from the leader's lease, without a heartbeat round.
  // Clock-dependent: safe only if ticks across nodes advance at bounded
  // relative rates. Needs check_quorum.
  bool lease_read = false;
  // Flow control per follower.
  uint64_t max_size_per_msg = 64 * 1024;  // payload bytes per kAppend (>= 1 entry)
  size_t max_inflight_msgs = 64;          // unacknowledged kAppend messages
  uint64_t max_inflight_bytes = 0;        // 0: unlimited
};

// What the driver loaded from durable storage at start-up.
struct InitialState {
  HardState hard_state;
  // The newest snapshot's metadata; index 0 if there is none.
  SnapshotMeta snapshot;
  // Stored entries after the snapshot, contiguous.
  std::vector<Entry> entries;
};

// The state of a member of a brand-new cluster: a snapshot at index 1,
// term 1 holding `voters` and an empty application state, so that nodes
// added later learn the initial membership from it. The driver persists it
// (with empty application data) before the first start. A node joining an
// existing cluster starts from a default InitialState instead.
InitialState BootstrapState(const ConfState& voters);

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view RoleName(Role role);

// A read that may be served once the applied index reaches `index`.
struct ReadState {
  uint64_t index = 0;
  std::string context;
};

struct Ready {
  std::optional<HardState> hard_state;  // changed since the last Ready
  Snapshot snapshot;                    // to persist and install (empty: none)
  std::vector<Entry> entries;           // to persist
  std::vector<Message> messages;        // to send after persisting
  // kSnapshot messages without data: the transport attaches the
  // application's snapshot for snapshot.meta, streams it, and calls
  // ReportSnapshot(to, ok) when done.
  std::vector<Message> snapshots_to_send;
  std::vector<Entry> committed_entries;  // to apply, in order
  std::vector<ReadState> read_states;
};

struct ProgressInfo {
  NodeId id = kNoNode;
  uint64_t match = 0;
  uint64_t next = 0;
  bool learner = false;
};

struct CoreStatus {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  HardState hard_state;
  uint64_t applied = 0;  // last index handed out in committed_entries
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  NodeId transferee = kNoNode;
  ConfState conf;
  std::vector<ProgressInfo> progress;  // leader only
};

class Raft;

class Core {
 public:
  static Result<std::unique_ptr<Core>> Create(const Config& config, InitialState state);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  void Tick();
  // A message from another node. Errors mean a malformed message.
  Status Step(const Message& message);
  // Leader only. Returns the index the entry will have.
  Result<uint64_t> Propose(std::string data);
  // Leader only; needs an entry of the leader's term committed and no other
  // configuration change pending.
  Result<uint64_t> ProposeConfChange(const ConfChange& change);
  // Linearizable read. The result arrives as a ReadState with the same
  // context (unique per request, chosen by the caller) in a later Ready;
  // requests that cannot be answered are dropped, the caller retries.
  Status ReadIndex(std::string context);
  // Leader only. Proposals are refused until the transfer ends; it is
  // aborted after an election timeout.
  Status TransferLeadership(NodeId to);
  // Starts an election now (as if the election timeout elapsed).
  Status Campaign();
  // The application has a snapshot of its state at `index` (<= applied):
  // the log up to `index` is dropped from memory. Returns the metadata to
  // store with the snapshot.
  Result<SnapshotMeta> Compact(uint64_t index);
  // From the snapshot transport: the snapshot to `to` was (not) delivered.
  void ReportSnapshot(NodeId to, bool ok);
  // From the message transport: `to` could not be reached.
  void ReportUnreachable(NodeId to);

  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  CoreStatus GetStatus() const;
  NodeId id() const;
  Role role() const;
  NodeId leader() const;
  uint64_t term() const;
  uint64_t commit() const;
  uint64_t last_index() const;
  // Term of the entry at `index`; NotFound if compacted or beyond the log.
  Result<uint64_t> TermAt(uint64_t index) const;
  // Entries in [lo, hi) that are in memory.
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi) const;

 private:
  explicit Core(std::unique_ptr<Raft> raft);
  std::unique_ptr<Raft> raft_;
};

}  // namespace dougong::raft
