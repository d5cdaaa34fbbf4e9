#include "dougong/raft/storage.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>

#include "base/crc32c.h"
#include "base/file_util.h"
#include "raft/storage/format.h"

namespace dougong::raft {

namespace {

Status DataLoss(std::string msg) { return Status(Code::kDataLoss, std::move(msg)); }

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Snapshot files of `dir`, by index, oldest first.
Result<std::vector<uint64_t>> ListSnapshots(const std::string& dir) {
  auto names = ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> out;
  for (const auto& name : *names) {
    uint64_t index = 0;
    if (storage::ParseSnapshotName(name, &index)) out.push_back(index);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Snapshot> ReadSnapshotFile(const std::string& path, uint64_t index) {
  auto file = ReadWholeFile(path);
  if (!file.ok()) return file.status();
  Result<Snapshot> snap = storage::DecodeSnapshotFile(*file);
  if (!snap.ok()) return DataLoss(path + ": " + snap.status().message());
  if (snap->meta.index != index) {
    return DataLoss(path + ": metadata says index " + std::to_string(snap->meta.index));
  }
  return snap;
}

// Writes `data` to `path` atomically: a temp file, fsync, rename, directory fsync.
Status WriteFileAtomically(const std::string& dir, const std::string& path, std::vector<iovec> data) {
  const std::string tmp = path + std::string(storage::kTmpSuffix);
  auto fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.ok()) return fd.status();
  if (Status s = PwritevAll(fd->get(), tmp, std::move(data), 0); !s.ok()) return s;
  if (Status s = Fsync(fd->get(), tmp); !s.ok()) return s;
  fd->Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", tmp, errno);
  return FsyncDir(dir);
}

iovec Iov(const void* p, size_t n) { return iovec{const_cast<void*>(p), n}; }

}  // namespace

Result<std::unique_ptr<RaftStorage>> RaftStorage::Open(std::string dir, StorageOptions options) {
  if (options.snapshots_to_keep < 1) return InvalidArgument("snapshots_to_keep < 1");
  if (Status s = CreateDirs(dir); !s.ok()) return s;
  std::unique_ptr<RaftStorage> st(new RaftStorage(std::move(dir), options));
  if (Status s = st->Recover(); !s.ok()) return s;
  return st;
}

RaftStorage::RaftStorage(std::string dir, StorageOptions options) : dir_(std::move(dir)), options_(options) {}

RaftStorage::~RaftStorage() {
  log_.reset();
  CloseFd(hard_state_fd_);
  CloseFd(lock_fd_);
}

Status RaftStorage::Recover() {
  const std::string lock_path = JoinPath(dir_, storage::kLockName);
  auto lock = OpenFile(lock_path, O_RDWR | O_CREAT);
  if (!lock.ok()) return lock.status();
  lock_fd_ = lock->Release();
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return FailedPrecondition("raft storage " + dir_ + " is in use (" + lock_path + " is locked)");
    return ErrnoStatus("flock", lock_path, errno);
  }
  // Leftovers of interrupted atomic writes (snapshot, hard state creation).
  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    if (!EndsWith(name, storage::kTmpSuffix)) continue;
    std::string path = JoinPath(dir_, name);
    if (Status s = RemoveFile(path); !s.ok()) return s;
    recovery_.removed_tmp_files.push_back(std::move(path));
  }
  if (!recovery_.removed_tmp_files.empty()) {
    if (Status s = FsyncDir(dir_); !s.ok()) return s;
  }
  if (Status s = LoadHardState(); !s.ok()) return s;
  if (Status s = FindNewestSnapshot(); !s.ok()) return s;
  auto log = SegmentedLog::Open(dir_, options_.log);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  recovery_.log = log_->recovery();
  if (Status s = ReconcileLogWithSnapshot(); !s.ok()) return s;
  if (hard_state_.commit > last_index()) {
    std::string msg = "raft storage " + dir_ + ": commit index " + std::to_string(hard_state_.commit) +
                      " beyond the last stored index " + std::to_string(last_index());
    if (!options_.log.repair) return DataLoss(msg);
    hard_state_.commit = last_index();
    recovery_.commit_clamped = true;
  }
  return Status::Ok();
}

// ------------------------------------------------------------ hard state

Status RaftStorage::LoadHardState() {
  const std::string path = JoinPath(dir_, storage::kHardStateName);
  auto fd = OpenFile(path, O_RDWR);
  if (!fd.ok()) return fd.status().code() == Code::kNotFound ? Status::Ok() : fd.status();
  char buf[storage::kHardStateFileSize];
  auto n = PreadAll(fd->get(), path, buf, sizeof buf, 0);
  if (!n.ok()) return n.status();
  std::string_view file(buf, *n);
  bool found = false;
  for (uint64_t slot = 0; slot < 2; ++slot) {
    const uint64_t off = slot * storage::kHardStateSlotStride;
    uint64_t seq = 0;
    HardState hs;
    if (off >= file.size() || !storage::DecodeHardStateSlot(file.substr(off), &seq, &hs) || seq % 2 != slot) {
      recovery_.hard_state_slot_damaged = true;
      continue;
    }
    if (!found || seq > hard_state_seq_) {
      hard_state_seq_ = seq;
      hard_state_ = hs;
      found = true;
    }
  }
  // A save writes one slot; the other one always holds a valid state (the
  // file is created with slot 0 valid), so both bad is real damage.
  if (!found) return DataLoss(path + ": neither hard state slot is valid (magic, version or checksum)");
  // A never-written slot 1 is not damage.
  if (hard_state_seq_ == 0) recovery_.hard_state_slot_damaged = false;
  hard_state_fd_ = fd->Release();
  return Status::Ok();
}

Status RaftStorage::SaveHardState(const HardState& hs) {
  const std::string path = JoinPath(dir_, storage::kHardStateName);
  char slot[storage::kHardStateSlotSize];
  if (hard_state_fd_ < 0) {
    // First save: the file appears atomically with slot 0 valid (sequence
    // 0); later saves alternate, sequence n in slot n % 2.
    std::string file(storage::kHardStateFileSize, '\0');
    storage::EncodeHardStateSlot(0, hs, file.data());
    if (Status s = WriteFileAtomically(dir_, path, {Iov(file.data(), file.size())}); !s.ok()) return s;
    auto fd = OpenFile(path, O_RDWR);
    if (!fd.ok()) return fd.status();
    hard_state_fd_ = fd->Release();
    hard_state_seq_ = 0;
    hard_state_ = hs;
    return Status::Ok();
  }
  const uint64_t seq = hard_state_seq_ + 1;
  storage::EncodeHardStateSlot(seq, hs, slot);
  const uint64_t off = (seq % 2) * storage::kHardStateSlotStride;
  if (Status s = PwriteAll(hard_state_fd_, path, slot, sizeof slot, off); !s.ok()) return s;
  if (Status s = Fdatasync(hard_state_fd_, path); !s.ok()) return s;
  hard_state_seq_ = seq;
  hard_state_ = hs;
  return Status::Ok();
}

// ------------------------------------------------------------ snapshots

Status RaftStorage::FindNewestSnapshot() {
  auto indexes = ListSnapshots(dir_);
  if (!indexes.ok()) return indexes.status();
  for (auto it = indexes->rbegin(); it != indexes->rend(); ++it) {
    const std::string path = JoinPath(dir_, storage::SnapshotName(*it));
    Result<Snapshot> snap = ReadSnapshotFile(path, *it);
    if (snap.ok()) {
      snapshot_ = snap->meta;
      return Status::Ok();
    }
    if (snap.status().code() != Code::kDataLoss) return snap.status();
    recovery_.skipped_snapshots.push_back(snap.status().message());
  }
  return Status::Ok();
}

Result<Snapshot> RaftStorage::LoadSnapshot() const {
  if (snapshot_.index == 0) return Snapshot{};
  return ReadSnapshotFile(JoinPath(dir_, storage::SnapshotName(snapshot_.index)), snapshot_.index);
}

Status RaftStorage::WriteSnapshot(const Snapshot& snap) {
  const std::string prefix = storage::EncodeSnapshotPrefix(snap);
  char crc[4];
  PutU32(crc, Crc32cExtend(Crc32c(prefix), snap.data.data(), snap.data.size()));
  return WriteFileAtomically(dir_, JoinPath(dir_, storage::SnapshotName(snap.meta.index)),
                             {Iov(prefix.data(), prefix.size()), Iov(snap.data.data(), snap.data.size()),
                              Iov(crc, sizeof crc)});
}

Result<uint64_t> RaftStorage::PurgeSnapshots() {
  auto indexes = ListSnapshots(dir_);
  if (!indexes.ok()) return indexes.status();
  // Never remove the current one, nor keep files newer than it (an older
  // snapshot installed over a damaged newer file).
  std::vector<uint64_t> kept;
  bool removed = false;
  for (auto it = indexes->rbegin(); it != indexes->rend(); ++it) {
    const bool keep = *it <= snapshot_.index && kept.size() < static_cast<size_t>(options_.snapshots_to_keep);
    if (keep) {
      kept.push_back(*it);
      continue;
    }
    if (Status s = RemoveFile(JoinPath(dir_, storage::SnapshotName(*it))); !s.ok()) return s;
    removed = true;
  }
  if (removed) {
    if (Status s = FsyncDir(dir_); !s.ok()) return s;
  }
  return kept.empty() ? snapshot_.index : kept.back();
}

Status RaftStorage::SaveSnapshot(const Snapshot& snap) {
  if (snap.meta.index <= snapshot_.index) return Status::Ok();
  if (snap.meta.index > last_index()) {
    return InvalidArgument("raft storage: snapshot at " + std::to_string(snap.meta.index) + " beyond the last index " +
                           std::to_string(last_index()));
  }
  Result<uint64_t> term = Term(snap.meta.index);
  if (term.ok() && *term != snap.meta.term) {
    return InvalidArgument("raft storage: snapshot at " + std::to_string(snap.meta.index) + " has term " +
                           std::to_string(snap.meta.term) + ", the log " + std::to_string(*term));
  }
  if (Status s = WriteSnapshot(snap); !s.ok()) return s;
  snapshot_ = snap.meta;
  Result<uint64_t> oldest = PurgeSnapshots();
  if (!oldest.ok()) return oldest.status();
  Result<uint64_t> compacted = log_->CompactTo(*oldest);
  return compacted.ok() ? Status::Ok() : compacted.status();
}

// ------------------------------------------------------------ log

Status RaftStorage::ReconcileLogWithSnapshot() {
  if (log_->empty()) return Status::Ok();
  const uint64_t s = snapshot_.index;
  const uint64_t first = log_->first_index();
  if (s == 0) {
    if (first == 1) return Status::Ok();
    return DataLoss("raft storage " + dir_ + ": the log starts at index " + std::to_string(first) +
                    " but there is no snapshot");
  }
  if (first > s + 1) {
    return DataLoss("raft storage " + dir_ + ": the log starts at index " + std::to_string(first) +
                    " but the snapshot ends at " + std::to_string(s) + " (entries missing in between)");
  }
  if (first == s + 1) return Status::Ok();
  Result<uint64_t> term = log_->Term(s);
  if (term.ok() && *term == snapshot_.term) return Status::Ok();
  // The log does not contain the snapshot: a crash between writing an
  // installed snapshot and resetting the log. The log is stale; drop it.
  recovery_.log_reset = true;
  return log_->Reset();
}

uint64_t RaftStorage::last_index() const {
  return log_->empty() ? snapshot_.index : std::max(snapshot_.index, log_->last_index());
}

Result<uint64_t> RaftStorage::Term(uint64_t index) const {
  if (index == snapshot_.index) return snapshot_.term;
  if (index < snapshot_.index) return NotFound("raft storage: index " + std::to_string(index) + " compacted");
  return log_->Term(index);
}

Result<std::vector<Entry>> RaftStorage::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  if (lo <= snapshot_.index && lo < hi) {
    return Status(Code::kOutOfRange, "raft storage: index " + std::to_string(lo) + " compacted");
  }
  return log_->Entries(lo, hi, max_bytes);
}

Result<InitialState> RaftStorage::LoadInitialState() const {
  InitialState st;
  st.hard_state = hard_state_;
  st.snapshot = snapshot_;
  if (last_index() > snapshot_.index) {
    auto entries = log_->Entries(std::max(first_index(), log_->first_index()), last_index() + 1);
    if (!entries.ok()) return entries.status();
    st.entries = std::move(*entries);
  }
  return st;
}

Status RaftStorage::SaveReady(const Ready& rd) {
  if (!rd.snapshot.empty()) {
    // The snapshot is durable before the log it replaces goes.
    if (Status s = WriteSnapshot(rd.snapshot); !s.ok()) return s;
    snapshot_ = rd.snapshot.meta;
    if (Status s = log_->Reset(); !s.ok()) return s;
    if (Result<uint64_t> r = PurgeSnapshots(); !r.ok()) return r.status();
  }
  if (!rd.entries.empty()) {
    const uint64_t first = rd.entries.front().index;
    if (first <= snapshot_.index || first > last_index() + 1) {
      return InvalidArgument("raft storage: entries from " + std::to_string(first) + " do not follow the log [" +
                             std::to_string(first_index()) + ", " + std::to_string(last_index()) + "]");
    }
    if (Status s = log_->Append(rd.entries); !s.ok()) return s;
  }
  if (rd.hard_state) {
    if (Status s = SaveHardState(*rd.hard_state); !s.ok()) return s;
  }
  return Status::Ok();
}

Status RaftStorage::Bootstrap(const InitialState& state, std::string app_data) {
  if (snapshot_.index != 0 || !log_->empty() || hard_state_fd_ >= 0) {
    return FailedPrecondition("raft storage " + dir_ + " is not empty: cannot bootstrap");
  }
  Snapshot snap{state.snapshot, std::move(app_data)};
  if (!snap.empty()) {
    if (Status s = WriteSnapshot(snap); !s.ok()) return s;
    snapshot_ = snap.meta;
  }
  if (!state.entries.empty()) {
    if (Status s = log_->Append(state.entries); !s.ok()) return s;
  }
  return SaveHardState(state.hard_state);
}

}  // namespace dougong::raft
