// RaftStorage: everything a Raft node keeps on disk, in one directory, and
// the adapter between it and the pure core (core.h):
//
//   - the entry log (SegmentedLog, log_storage.h): "log.<16 hex>" segments;
//   - the hard state (term, vote, commit): "hardstate", a double-slot file
//     (two CRC-protected slots in separate 4 KiB blocks, written
//     alternately with one fdatasync; the newest valid slot wins);
//   - snapshots: "snap.<16 hex index>", written atomically (temp file,
//     fsync, rename, directory fsync), metadata (index, term, ConfState) and
//     application data under one CRC; the newest valid one is loaded.
//
// Byte layout, durability order and recovery rules: docs/raft.md, "Storage".
//
// The core reads its state only at start-up (Core::Create(config,
// InitialState)) and keeps the log after its snapshot in memory; so the
// adapter is LoadInitialState() on the way in, and SaveReady() for step 1 of
// the Ready contract on the way out:
//
//   auto storage = RaftStorage::Open(dir);             // recovers
//   if fresh: storage->Bootstrap(BootstrapState(voters), app.EmptySnapshot());
//   app.Restore(storage->LoadSnapshot()->data);
//   auto core = Core::Create(config, *storage->LoadInitialState());
//   loop: Ready rd = core->GetReady();
//         storage->SaveReady(rd);                      // durable
//         send rd.messages; apply; core->Advance(rd);
//   after Core::Compact(i): storage->SaveSnapshot({meta, app.Serialize()});
//
// Not thread-safe: one thread (the driver) calls everything. The directory
// is locked (flock on <dir>/LOCK) against a second opener. A failed save
// leaves the files in an unknown state (fsync errors are not retried): the
// driver must stop, and restart from disk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/raft/core.h"
#include "dougong/raft/log_storage.h"
#include "dougong/raft/types.h"

namespace dougong::raft {

struct StorageOptions {
  // log.repair also lets Open clamp a commit index beyond the (cut) log.
  LogStorageOptions log;
  // Snapshot files kept (at least 1). The log is compacted only up to the
  // oldest kept one, so that one can still be used if the newest is damaged.
  int snapshots_to_keep = 2;
};

// What Open found and did, beyond the log's own LogRecovery.
struct StorageRecovery {
  LogRecovery log;
  std::vector<std::string> skipped_snapshots;  // "path: problem" of damaged ones passed over
  std::vector<std::string> removed_tmp_files;  // leftovers of interrupted writes
  bool hard_state_slot_damaged = false;        // one slot failed its CRC (a torn write)
  bool log_reset = false;  // the log did not continue the snapshot (crash during an install) and was dropped
  bool commit_clamped = false;  // repair: the commit index pointed past the log
};

class RaftStorage {
 public:
  static Result<std::unique_ptr<RaftStorage>> Open(std::string dir, StorageOptions options = {});
  ~RaftStorage();
  RaftStorage(const RaftStorage&) = delete;
  RaftStorage& operator=(const RaftStorage&) = delete;

  // For Core::Create: hard state, the newest snapshot's metadata, and the
  // stored entries after it.
  Result<InitialState> LoadInitialState() const;
  // The newest snapshot with its data (read and checked again); empty if
  // there is none.
  Result<Snapshot> LoadSnapshot() const;

  // Step 1 of the Ready contract, durable when it returns: ready.snapshot
  // (written, then the log reset to follow it), ready.entries (replacing
  // stored entries from their first index on), ready.hard_state.
  Status SaveReady(const Ready& ready);
  // After Core::Compact: writes the snapshot (atomically), removes snapshot
  // files beyond snapshots_to_keep, compacts the log below the oldest kept.
  // Snapshots not newer than the current one are ignored.
  Status SaveSnapshot(const Snapshot& snapshot);
  Status SaveHardState(const HardState& hard_state);
  // A member of a brand-new cluster: persists BootstrapState(...) with the
  // application's empty state. Refused unless the storage is empty.
  Status Bootstrap(const InitialState& state, std::string app_data);

  const HardState& hard_state() const { return hard_state_; }
  const SnapshotMeta& snapshot_meta() const { return snapshot_; }
  // The log after the snapshot: entries in [first_index(), last_index()].
  uint64_t first_index() const { return snapshot_.index + 1; }
  uint64_t last_index() const;
  // Term of `index`: the snapshot's own index included; NotFound when
  // compacted or beyond the log.
  Result<uint64_t> Term(uint64_t index) const;
  // Entries in [lo, hi) (lo > snapshot index), see SegmentedLog::Entries.
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes = 0) const;

  SegmentedLog& log() { return *log_; }
  const StorageRecovery& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }

 private:
  RaftStorage(std::string dir, StorageOptions options);
  Status Recover();
  Status LoadHardState();
  Status FindNewestSnapshot();
  Status ReconcileLogWithSnapshot();
  Status WriteSnapshot(const Snapshot& snapshot);
  // Removes snapshot files beyond snapshots_to_keep; returns the oldest kept index.
  Result<uint64_t> PurgeSnapshots();

  const std::string dir_;
  const StorageOptions options_;
  int lock_fd_ = -1;
  int hard_state_fd_ = -1;
  uint64_t hard_state_seq_ = 0;  // sequence of the newest slot; the next save uses slot (seq + 1) % 2
  HardState hard_state_;
  SnapshotMeta snapshot_;
  std::unique_ptr<SegmentedLog> log_;
  StorageRecovery recovery_;
};

}  // namespace dougong::raft
