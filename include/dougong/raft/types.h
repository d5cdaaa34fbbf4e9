// Raft data types: entries, hard state, configurations, snapshots, messages.
// Plain values with no behaviour; the state machine is in core.h.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::raft {

using NodeId = uint64_t;
// Node ids are > 0; 0 means "nobody" (no vote, no known leader).
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kNormal = 0,      // application payload
  kConfChange = 1,  // payload is an encoded ConfChange
  kNoOp = 2,        // appended by a new leader to commit an entry of its term
};

struct Entry {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// What must be durable before messages that depend on it are sent.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;

  bool operator==(const HardState&) const = default;
};

// The cluster membership. Voters count for elections and commits; learners
// only receive the log.
struct ConfState {
  std::set<NodeId> voters;
  std::set<NodeId> learners;

  bool operator==(const ConfState&) const = default;
  bool IsVoter(NodeId id) const { return voters.count(id) != 0; }
  bool IsLearner(NodeId id) const { return learners.count(id) != 0; }
  bool IsMember(NodeId id) const { return IsVoter(id) || IsLearner(id); }
};

// Single-server membership changes (see docs/raft.md for the safety rules).
enum class ConfChangeType : uint8_t {
  kAddVoter = 0,    // also promotes an existing learner
  kAddLearner = 1,
  kRemoveNode = 2,  // voter or learner, including the leader itself
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;

  bool operator==(const ConfChange&) const = default;
};

// The payload of a kConfChange entry.
std::string EncodeConfChange(const ConfChange& cc);
Result<ConfChange> DecodeConfChange(std::string_view data);
// Applies `cc` to `conf`; the rules a leader checks before proposing.
Status ValidateConfChange(const ConfState& conf, const ConfChange& cc);
void ApplyConfChangeTo(ConfState& conf, const ConfChange& cc);

// A snapshot covers the log up to and including `index`.
struct SnapshotMeta {
  uint64_t index = 0;
  uint64_t term = 0;
  ConfState conf;

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // opaque application state

  bool empty() const { return meta.index == 0; }
};

enum class MessageType : uint8_t {
  kPreVote,
  kPreVoteResp,
  kVote,
  kVoteResp,
  kAppend,          // entries after (index, log_term), leader's commit
  kAppendResp,      // index = last matching index; reject + hints on conflict
  kHeartbeat,       // commit, context = newest pending ReadIndex request
  kHeartbeatResp,   // context echoed
  kSnapshot,        // snapshot (the transport fills in data)
  kTimeoutNow,      // leadership transfer: campaign now
  kReadIndex,       // follower -> leader, context identifies the read
  kReadIndexResp,   // leader -> follower, index to wait for; reject if refused
};

std::string_view MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;
  // kAppend: term of the entry at `index`. kVote/kPreVote: last log term.
  // kAppendResp reject: the follower's term at `index` (0: log too short).
  uint64_t log_term = 0;
  // kAppend: index preceding `entries`. kVote/kPreVote: last log index.
  // kAppendResp: last index known to match, or the rejected `index`.
  uint64_t index = 0;
  std::vector<Entry> entries;
  uint64_t commit = 0;
  bool reject = false;
  // kAppendResp reject: first index of `log_term` in the follower's log, or
  // the follower's last index + 1 when its log is too short.
  uint64_t reject_hint = 0;
  // kVote/kPreVote caused by a leadership transfer: voters ignore their lease.
  bool transfer = false;
  std::string context;
  Snapshot snapshot;
};

}  // namespace dougong::raft
