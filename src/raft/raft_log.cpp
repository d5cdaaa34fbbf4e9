#include "raft/raft_log.h"

#include <algorithm>

namespace dougong::raft {

Status RaftLog::Load(const SnapshotMeta& snapshot, std::vector<Entry> entries, uint64_t commit) {
  snapshot_ = snapshot;
  entries_.clear();
  uint64_t expect = snapshot.index + 1;
  for (Entry& e : entries) {
    if (e.index != expect) return Status(Code::kDataLoss, "raft log: entries are not contiguous");
    ++expect;
    entries_.push_back(std::move(e));
  }
  if (commit > last_index()) return Status(Code::kDataLoss, "raft log: commit beyond the last entry");
  commit_ = std::max(commit, snapshot.index);
  stable_index_ = last_index();
  has_pending_snapshot_ = false;
  return Status::Ok();
}

uint64_t RaftLog::last_term() const {
  return entries_.empty() ? snapshot_.term : entries_.back().term;
}

Result<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index == snapshot_.index) return snapshot_.term;
  if (index < snapshot_.index) return NotFound("raft log: index compacted");
  if (index > last_index()) return NotFound("raft log: index beyond the log");
  return At(index).term;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  Result<uint64_t> t = Term(index);
  return t.ok() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t index, uint64_t term) const {
  uint64_t lt = last_term();
  return term > lt || (term == lt && index >= last_index());
}

void RaftLog::Append(Entry entry) { entries_.push_back(std::move(entry)); }

Status RaftLog::AppendFollowing(std::vector<Entry> entries) {
  size_t skip = 0;
  for (; skip < entries.size(); ++skip) {
    const Entry& e = entries[skip];
    if (!MatchTerm(e.index, e.term)) break;
  }
  if (skip == entries.size()) return Status::Ok();
  uint64_t from = entries[skip].index;
  if (from <= commit_) return Internal("raft log: conflicting entry at or below commit");
  if (from > last_index() + 1) return Internal("raft log: gap in appended entries");
  entries_.resize(from - first_index());  // truncate the conflicting suffix
  if (stable_index_ >= from) stable_index_ = from - 1;
  for (size_t i = skip; i < entries.size(); ++i) entries_.push_back(std::move(entries[i]));
  return Status::Ok();
}

std::vector<Entry> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  std::vector<Entry> out;
  hi = std::min(hi, last_index() + 1);
  uint64_t bytes = 0;
  for (uint64_t i = std::max(lo, first_index()); i < hi; ++i) {
    const Entry& e = At(i);
    bytes += EntryBytes(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

std::vector<Entry> RaftLog::UnstableEntries() const {
  std::vector<Entry> out;
  for (uint64_t i = std::max(stable_index_ + 1, first_index()); i <= last_index(); ++i) out.push_back(At(i));
  return out;
}

void RaftLog::StableTo(uint64_t index, uint64_t term) {
  // A truncation since the Ready was taken makes the ack stale.
  if (index > stable_index_ && MatchTerm(index, term)) stable_index_ = index;
}

void RaftLog::Restore(const SnapshotMeta& snapshot) {
  snapshot_ = snapshot;
  entries_.clear();
  commit_ = snapshot.index;
  stable_index_ = snapshot.index;
  has_pending_snapshot_ = true;
}

Status RaftLog::CompactTo(uint64_t index, const ConfState& conf) {
  if (index <= snapshot_.index) return Status::Ok();
  if (index > last_index()) return InvalidArgument("raft log: compact beyond the last entry");
  if (index > stable_index_) return FailedPrecondition("raft log: compact beyond the persisted log");
  uint64_t term = At(index).term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(index - snapshot_.index));
  snapshot_.index = index;
  snapshot_.term = term;
  snapshot_.conf = conf;
  return Status::Ok();
}

}  // namespace dougong::raft
