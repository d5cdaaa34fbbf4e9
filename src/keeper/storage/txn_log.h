// TxnLog: the keeper's write-ahead log of transactions {zxid, payload} with
// group commit. Payloads are opaque bytes; zxids are > 0 and strictly
// increasing. Format and recovery rules: docs/keeper_storage.md.
//
// Threads:
//   - One producer thread calls Append (and Replay, Sync, Close). Appends are
//     not serialised against each other by the log, so two producers would
//     race on the zxid check.
//   - A dedicated sync thread, owned by the log, takes everything appended so
//     far, writes it with one gathered write per segment touched, calls
//     fdatasync once, then runs the durable callbacks of the batch in append
//     order. While it waits for the disk the producer keeps appending, so
//     under load a batch holds whatever arrived during the previous fsync.
//     Without a sync thread (TxnLogOptions::sync_thread = false) the
//     producer does the same in SyncPending(), at points it chooses.
//   - Durable callbacks run on the sync thread (or in SyncPending): they
//     must be quick and must not call back into the log (Sync() from a
//     callback deadlocks).
//   - PurgeBefore and stats() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/latency_recorder.h"
#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "base/file_util.h"

namespace dougong::keeper::storage {

enum class RecoveryMode {
  kStrict,  // truncate a torn tail; refuse (kDataLoss) on any other damage
  kRepair,  // also truncate the log at the first damaged record (--repair)
};

// What Replay found and did.
struct RecoveryReport {
  int64_t first_zxid = 0;   // first record in the log; 0 when empty
  int64_t last_zxid = 0;    // last valid record; 0 when empty. Appends continue after it.
  uint64_t records = 0;     // valid records in the log
  uint64_t replayed = 0;    // records handed to the callback (zxid > after_zxid)
  uint64_t segments = 0;    // segment files left
  bool torn_tail = false;   // a torn tail was cut off
  bool repaired = false;    // kRepair cut the log at a damaged record
  std::string truncated_path;     // file that was cut, if any
  uint64_t truncated_offset = 0;  // ... at this offset
  uint64_t dropped_bytes = 0;     // bytes cut off or deleted (incl. zero fill after them)
  std::vector<std::string> removed_files;  // segments deleted
  std::string problem;      // what was wrong, e.g. "checksum mismatch"
};

struct TxnLogOptions {
  // A new segment starts before a record that would take the current one
  // past this size (a single larger record gets a segment of its own).
  uint64_t segment_bytes = 64ull << 20;
  // 0: off. Otherwise a background thread keeps this many bytes past the
  // write position of the active segment written with zeros and fdatasync'ed
  // (up to segment_bytes), so that appends overwrite allocated blocks and
  // their fdatasync is a pure data flush. On ext4 an allocating write, or a
  // write into fallocate()d (unwritten) space, makes the next fdatasync
  // commit the journal, so it waits for whatever else the filesystem has
  // queued: that was most of the log's fdatasync tail. Recovery treats the
  // zero fill as the clean end; a segment is trimmed when the log moves on.
  uint64_t prefill_bytes = 0;
  uint64_t prefill_bytes_per_sec = 64ull << 20;  // pace of the zero fill
  // Larger payloads are refused.
  uint32_t max_payload_bytes = 16u << 20;
  // Append blocks while more than this many bytes wait for the sync thread
  // (without one, Append commits them first).
  uint64_t max_unsynced_bytes = 64ull << 20;
  // false: no sync thread; the producer commits with SyncPending() (keeper's
  // Core does, once per round of its event loop: no hand-off and wake-up of
  // another thread per batch, and none back).
  bool sync_thread = true;
};

struct TxnLogStats {
  uint64_t appends = 0;            // records accepted
  uint64_t batches = 0;            // group commits (one per sync-thread round)
  uint64_t fdatasyncs = 0;         // fdatasync calls (a rotation adds one)
  uint64_t bytes_written = 0;
  uint64_t max_batch_records = 0;  // largest batch so far
  uint64_t segments_created = 0;
  uint64_t prefill_bytes = 0;      // zeros written ahead (TxnLogOptions::prefill_bytes)
};

struct SegmentInfo {
  std::string path;
  int64_t first_zxid = 0;
};
// Segment files of `dir`, oldest first.
Result<std::vector<SegmentInfo>> ListSegments(const std::string& dir);

// Deletes the segments of `dir` whose records are all <= zxid: a segment
// goes only when the next one starts at or below zxid + 1, so the segment
// holding zxid + 1 and everything after it stay, and the last segment always
// stays. Safe while a TxnLog appends to `dir` (it only writes the last one).
// Segments go at most `delete_bytes_per_sec` (0: at once; RemoveFilePaced).
Status PurgeLogBefore(const std::string& dir, int64_t zxid, uint64_t delete_bytes_per_sec = 0);

class TxnLog {
 public:
  using DurableCallback = std::function<void(Status)>;
  using ReplayFn = std::function<Status(int64_t zxid, std::string_view payload)>;

  // Opens (creating if needed) the log in `dir` and locks it against a
  // second opener (flock on <dir>/log.lock). If `dir` already has segments,
  // Replay must run before the first Append.
  static Result<std::unique_ptr<TxnLog>> Open(std::string dir, TxnLogOptions options = {});
  ~TxnLog();  // Close()

  TxnLog(const TxnLog&) = delete;
  TxnLog& operator=(const TxnLog&) = delete;

  // Queues a record. `durable` runs once: with OK on the sync thread after
  // the record (and all before it) reached the disk, or with the error of
  // the write/fdatasync that failed (the log then refuses everything after).
  // A refused append (zxid not greater than the last, payload too large,
  // Replay still needed, log closed) runs `durable` at once on the caller's
  // thread with kInvalidArgument / kFailedPrecondition and leaves the log
  // unchanged.
  void Append(int64_t zxid, std::string payload, DurableCallback durable);

  // Waits until every record appended before the call is durable and its
  // callback has run. Returns the log's error if a write failed.
  Status Sync();

  // Without a sync thread (options.sync_thread = false): writes and
  // fdatasyncs everything appended so far and runs the callbacks, on the
  // producer thread. Does nothing with a sync thread or nothing pending.
  void SyncPending();

  // Checks every segment, repairs what recovery may repair (see
  // RecoveryMode), then calls fn for each record with zxid > after_zxid in
  // order. fn's first error stops the replay and is returned. Afterwards the
  // log appends after report.last_zxid. Waits for pending appends first.
  Result<RecoveryReport> Replay(int64_t after_zxid, const ReplayFn& fn,
                                RecoveryMode mode = RecoveryMode::kStrict);

  // PurgeLogBefore(dir(), zxid), serialised with Replay.
  Status PurgeBefore(int64_t zxid);

  // Syncs what is pending, runs the callbacks, stops the sync thread.
  // Appends afterwards are refused. Idempotent.
  Status Close();

  const std::string& dir() const { return dir_; }
  // The last zxid accepted by Append (or found by Replay); producer thread.
  int64_t last_zxid() const { return last_zxid_; }
  TxnLogStats stats() const;
  // Waits until the zero fill of the active segment has caught up with its
  // target (prefill_bytes ahead, or the segment's end) or has given up.
  void WaitForPrefill();
  // Time of each fdatasync of the log, microseconds (any thread).
  LatencyRecorder::Snapshot fsync_latency() const { return fsync_latency_.Take(); }

 private:
  struct Pending {
    int64_t zxid;
    uint64_t size;  // header + payload bytes in the batch buffer
    DurableCallback durable;
  };

  TxnLog(std::string dir, TxnLogOptions options, UniqueFd lock_fd);
  void SyncLoop();
  // Takes everything appended so far, writes it, fdatasyncs, runs the
  // callbacks (sync thread, or the producer without one).
  void CommitBatch(std::string& batch, std::vector<Pending>& entries);
  Status WriteBatch(const std::string& buf, const std::vector<Pending>& entries);
  Status SyncActive();  // fdatasync of the active segment, timed and counted
  Status StartSegment(int64_t first_zxid);
  Status FinishSegment();
  Status WriteAt(const char* data, uint64_t size);
  // Zero fill (prefill_bytes > 0). The sync thread attaches the active
  // segment (fd -1 detaches; returns how far the fill got) and reserves
  // the range it is about to write; the fill thread only writes above it.
  uint64_t PrefillAttach(int fd, uint64_t offset);
  void PrefillReserve(uint64_t end);
  bool PrefillWanted() const;  // fill_mu_ held
  // Where the next chunk starts: a chunk above what the log writes, so that
  // the log does not wait for it when it has just caught up (fill_mu_ held).
  uint64_t FillFrom() const { return std::max(fill_done_, fill_reserved_ + fill_chunk_); }
  void PrefillLoop();

  const std::string dir_;
  const TxnLogOptions options_;
  UniqueFd lock_fd_;

  // Producer thread only.
  int64_t last_zxid_ = 0;
  bool ready_ = false;   // no segments at Open, or Replay succeeded
  bool closed_ = false;

  std::mutex replay_mu_;  // Replay vs PurgeBefore

  // Shared between producer and sync thread, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // sync thread waits for records / stop
  std::condition_variable space_cv_;  // producer waits for max_unsynced_bytes
  std::condition_variable done_cv_;   // Sync() waits for done_seq_
  std::string buf_;                   // encoded records not yet taken
  std::vector<Pending> entries_;
  bool sync_idle_ = false;
  bool stop_ = false;
  uint64_t appended_seq_ = 0;
  uint64_t done_seq_ = 0;             // records whose callback has run
  Status failed_;
  TxnLogStats stats_;
  LatencyRecorder fsync_latency_;

  // The active segment: touched by the sync thread, or by Replay while no
  // batch is in flight (after Sync()).
  UniqueFd active_fd_;
  std::string active_path_;
  uint64_t active_offset_ = 0;   // where the next record goes
  uint64_t active_alloc_ = 0;    // file size (>= offset when zero filled)
  uint64_t active_records_ = 0;

  std::thread sync_thread_;
  std::string caller_batch_;             // CommitBatch buffers without a sync thread
  std::vector<Pending> caller_entries_;

  // Zero fill state, guarded by fill_mu_.
  static constexpr uint64_t kNotFilling = ~0ull;
  // Zeros per write + fdatasync: prefill_bytes / 8, within [4 KiB, 256 KiB].
  const uint64_t fill_chunk_;
  std::mutex fill_mu_;
  std::condition_variable fill_cv_;       // fill thread waits for work / stop
  std::condition_variable fill_idle_cv_;  // writers wait for a chunk to finish
  int fill_fd_ = -1;
  std::string fill_path_;
  uint64_t fill_reserved_ = 0;            // the log writes below this offset
  uint64_t fill_done_ = 0;                // zeros durable up to here
  uint64_t fill_busy_from_ = kNotFilling; // a chunk being written starts here
  bool fill_failed_ = false;              // gave up on this segment
  bool fill_stop_ = false;
  std::thread fill_thread_;
};

}  // namespace dougong::keeper::storage
