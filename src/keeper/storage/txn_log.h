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
//   - Durable callbacks run on the sync thread: they must be quick and must
//     not call back into the log (Sync() from a callback deadlocks).
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
  // 0: off. Otherwise segments are grown with fallocate() this many bytes
  // at a time (zero-filled, up to segment_bytes); recovery treats the zero
  // fill as the clean end, and a segment is trimmed when the log moves on.
  uint64_t preallocate_bytes = 0;
  // Larger payloads are refused.
  uint32_t max_payload_bytes = 16u << 20;
  // Append blocks while more than this many bytes wait for the sync thread.
  uint64_t max_unsynced_bytes = 64ull << 20;
};

struct TxnLogStats {
  uint64_t appends = 0;            // records accepted
  uint64_t batches = 0;            // group commits (one per sync-thread round)
  uint64_t fdatasyncs = 0;         // fdatasync calls (a rotation adds one)
  uint64_t bytes_written = 0;
  uint64_t max_batch_records = 0;  // largest batch so far
  uint64_t segments_created = 0;
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

 private:
  struct Pending {
    int64_t zxid;
    uint64_t size;  // header + payload bytes in the batch buffer
    DurableCallback durable;
  };

  TxnLog(std::string dir, TxnLogOptions options, UniqueFd lock_fd);
  void SyncLoop();
  Status WriteBatch(const std::string& buf, const std::vector<Pending>& entries);
  Status StartSegment(int64_t first_zxid);
  Status FinishSegment();
  Status WriteAt(const char* data, uint64_t size);

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

  // The active segment: touched by the sync thread, or by Replay while no
  // batch is in flight (after Sync()).
  UniqueFd active_fd_;
  std::string active_path_;
  uint64_t active_offset_ = 0;   // where the next record goes
  uint64_t active_alloc_ = 0;    // file size (>= offset when preallocated)
  uint64_t active_records_ = 0;
  bool prealloc_ok_ = true;

  std::thread sync_thread_;
};

}  // namespace dougong::keeper::storage
