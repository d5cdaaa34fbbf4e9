// Progress: the leader's view of one follower, and the flow control that
// limits what is in flight to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

namespace dougong::raft {

// Appends sent but not yet acknowledged, by last index, with their bytes.
class Inflights {
 public:
  Inflights(size_t max_count, uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  void Add(uint64_t last_index, uint64_t bytes);
  // Acknowledges everything up to and including `index`.
  void FreeLE(uint64_t index);
  void FreeFirst();
  bool Full() const;
  size_t count() const { return items_.size(); }
  void Reset() {
    items_.clear();
    bytes_ = 0;
  }

 private:
  size_t max_count_;
  uint64_t max_bytes_;  // 0: unlimited
  uint64_t bytes_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> items_;
};

enum class ProgressState : uint8_t {
  // Not known where the follower's log matches: one append at a time.
  kProbe,
  // Matching: appends are pipelined up to the inflight limits.
  kReplicate,
  // Too far behind: a snapshot is being streamed, no appends.
  kSnapshot,
};

struct Progress {
  Progress(uint64_t next_index, size_t max_inflight, uint64_t max_inflight_bytes, bool learner)
      : next(next_index), is_learner(learner), inflights(max_inflight, max_inflight_bytes) {}

  uint64_t match = 0;
  uint64_t next = 1;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;  // kProbe: an append is out, wait for its answer
  uint64_t pending_snapshot = 0;
  bool recent_active = false;  // heard from since the last check-quorum round
  bool is_learner = false;
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);
  // An acknowledgement up to `index`; false if stale.
  bool MaybeUpdate(uint64_t index);
  // Records an append of entries up to `last` (pipelining in kReplicate).
  void SentEntries(uint64_t last, uint64_t bytes);
  // A rejection of the append after `rejected`; `probe_next` is the next
  // index the leader derived from the follower's hint. False if stale.
  bool MaybeDecrTo(uint64_t rejected, uint64_t probe_next);
  bool IsPaused() const;
};

}  // namespace dougong::raft
