#include "raft/progress.h"

#include <algorithm>

namespace dougong::raft {

void Inflights::Add(uint64_t last_index, uint64_t bytes) {
  items_.emplace_back(last_index, bytes);
  bytes_ += bytes;
}

void Inflights::FreeLE(uint64_t index) {
  while (!items_.empty() && items_.front().first <= index) {
    bytes_ -= items_.front().second;
    items_.pop_front();
  }
}

void Inflights::FreeFirst() {
  if (items_.empty()) return;
  bytes_ -= items_.front().second;
  items_.pop_front();
}

bool Inflights::Full() const {
  return items_.size() >= max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

void Progress::BecomeProbe() {
  // After a snapshot, resume right after it.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.Reset();
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (index > match) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

void Progress::SentEntries(uint64_t last, uint64_t bytes) {
  if (state == ProgressState::kReplicate) {
    if (last >= next) {
      next = last + 1;
      inflights.Add(last, bytes);
    }
  } else if (state == ProgressState::kProbe) {
    probe_sent = true;
  }
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t probe_next) {
  if (state == ProgressState::kReplicate) {
    // Stale: that prefix was acknowledged already.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // Probe: only the answer to the outstanding probe counts.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, probe_next), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe: return probe_sent;
    case ProgressState::kReplicate: return inflights.Full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

}  // namespace dougong::raft
