// RaftLog: the in-memory log after the newest snapshot, the commit index,
// and which part is not yet persisted ("unstable").
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/raft/types.h"

namespace dougong::raft {

class RaftLog {
 public:
  // Loads persisted state: entries must follow `snapshot.index` contiguously.
  Status Load(const SnapshotMeta& snapshot, std::vector<Entry> entries, uint64_t commit);

  uint64_t snapshot_index() const { return snapshot_.index; }
  uint64_t snapshot_term() const { return snapshot_.term; }
  const SnapshotMeta& snapshot() const { return snapshot_; }
  uint64_t first_index() const { return snapshot_.index + 1; }
  uint64_t last_index() const { return snapshot_.index + entries_.size(); }
  uint64_t last_term() const;
  uint64_t commit() const { return commit_; }

  // The term at `index`: available for the snapshot index and the entries.
  Result<uint64_t> Term(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;
  // `index` must be in [first_index, last_index].
  const Entry& At(uint64_t index) const { return entries_[index - first_index()]; }
  // Whether (last_index, last_term) of a candidate is at least as up to date.
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;

  // Leader: appends one entry at last_index + 1.
  void Append(Entry entry);
  // Follower: entries that follow a matching prefix; conflicting entries
  // (same index, different term) and everything after them are replaced.
  // Refuses to replace a committed entry.
  Status AppendFollowing(std::vector<Entry> entries);

  // Entries in [lo, hi), at most `max_bytes` of payload but at least one.
  std::vector<Entry> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  void CommitTo(uint64_t index) {
    if (index > commit_) commit_ = index;
  }

  // Unstable part: entries after stable_index_ and a received snapshot.
  uint64_t stable_index() const { return stable_index_; }
  bool HasUnstable() const { return stable_index_ < last_index() || has_pending_snapshot_; }
  std::vector<Entry> UnstableEntries() const;
  bool has_pending_snapshot() const { return has_pending_snapshot_; }
  // The persisted log now holds the entry (index, term).
  void StableTo(uint64_t index, uint64_t term);
  void SnapshotStable() { has_pending_snapshot_ = false; }

  // Replaces the log with a received snapshot; it is unstable until persisted.
  void Restore(const SnapshotMeta& snapshot);
  // Drops entries up to `index`, which must be applied and stable.
  Status CompactTo(uint64_t index, const ConfState& conf);

 private:
  SnapshotMeta snapshot_;
  std::deque<Entry> entries_;  // entries_[0].index == snapshot_.index + 1
  uint64_t commit_ = 0;
  uint64_t stable_index_ = 0;
  bool has_pending_snapshot_ = false;
};

// Payload size used by flow control (at least 1 so empty entries count).
inline uint64_t EntryBytes(const Entry& e) { return e.data.size() + 1; }

}  // namespace dougong::raft
