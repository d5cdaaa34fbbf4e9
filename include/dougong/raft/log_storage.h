// SegmentedLog: the durable log of Raft entries (index, term, type, data),
// outside the pure core. Byte layout, durability order and recovery rules:
// docs/raft.md, "Storage".
//
//   - Segments of a fixed size (default 64 MiB) named "log.<16 hex digits
//     of their first index>", each with a header; one CRC-32C per entry.
//   - Append(batch) writes the batch with one write per segment touched and
//     calls fdatasync once (the caller's batching is the group commit);
//     creating or removing a segment also fsyncs the directory.
//   - TruncateSuffix (conflicting entries replaced), CompactTo (segments
//     wholly below a snapshot index dropped) and Reset (everything dropped)
//     are durable before they return.
//   - Open recovers: every record's CRC is checked; a torn tail (a partial or
//     zero-filled last record of the last segment) is cut off; damage
//     anywhere else refuses to open (kDataLoss, naming file and offset)
//     unless `repair` is set, which cuts the log there.
//   - An in-memory index (index -> segment, offset, term) and a cache of the
//     newest entries serve Term() and Entries() without disk reads for the
//     recent tail.
//
// Not thread-safe: one thread (the Raft driver) calls everything. After a
// failed write or fsync the log refuses all further changes (the state of
// the file is unknown; fsync errors are not retried).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/raft/types.h"

namespace dougong::raft {

struct LogStorageOptions {
  // A new segment starts before an entry that would take the current one
  // past this size (a single larger entry gets a segment of its own).
  uint64_t segment_bytes = 64ull << 20;
  // Payload bytes of the newest entries kept in memory for Entries().
  uint64_t cache_bytes = 16ull << 20;
  // Larger entries are refused by Append.
  uint32_t max_entry_bytes = 64u << 20;
  // Cut the log at the first damaged record instead of refusing to open.
  bool repair = false;
};

// What Open found and did.
struct LogRecovery {
  uint64_t segments = 0;         // segment files left
  uint64_t entries = 0;          // valid entries in the log
  bool torn_tail = false;        // a torn tail was cut off
  bool repaired = false;         // `repair` cut the log at damage
  std::string problem;           // what was wrong ("checksum mismatch", ...)
  std::string truncated_path;    // the file that was cut, if any
  uint64_t truncated_offset = 0; // ... at this offset
  uint64_t dropped_bytes = 0;    // bytes cut off or deleted
  std::vector<std::string> removed_files;
};

class SegmentedLog {
 public:
  // Opens the segments in `dir` (created if missing) and recovers them. The
  // caller owns the directory (RaftStorage locks it).
  static Result<std::unique_ptr<SegmentedLog>> Open(std::string dir, LogStorageOptions options = {});
  ~SegmentedLog();
  SegmentedLog(const SegmentedLog&) = delete;
  SegmentedLog& operator=(const SegmentedLog&) = delete;

  // Appends contiguous entries durably (one fdatasync). Entries at or after
  // entries.front().index that are already stored are replaced: the
  // conflicting suffix is truncated (durably) first. An empty log accepts
  // any first index > 0; otherwise entries.front().index must be in
  // [first_index(), last_index() + 1].
  Status Append(std::span<const Entry> entries);
  // Removes the entries with index >= `from` (no-op when from > last_index()).
  Status TruncateSuffix(uint64_t from);
  // Deletes the segments whose entries are all <= `index` (the last segment
  // always stays, so Term(index) keeps working). Returns how many.
  Result<uint64_t> CompactTo(uint64_t index);
  // Deletes every segment: the next Append may start at any index.
  Status Reset();

  bool empty() const { return segments_.empty(); }
  // 0 when empty.
  uint64_t first_index() const { return empty() ? 0 : segments_.front().first_index; }
  uint64_t last_index() const { return empty() ? 0 : last_index_; }
  // NotFound outside [first_index(), last_index()].
  Result<uint64_t> Term(uint64_t index) const;
  // Entries in [lo, hi), at most `max_bytes` of payload (0: no limit; at
  // least one entry is returned). OutOfRange outside the stored log; the
  // cached tail is served from memory, older entries read (and checked)
  // from their segment.
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes = 0) const;

  const LogRecovery& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }
  // Segment file paths, oldest first.
  std::vector<std::string> SegmentPaths() const;
  // Entries currently cached in memory (tests and stats).
  size_t cached_entries() const { return cache_.size(); }

 private:
  struct Segment {
    uint64_t first_index = 0;
    std::string path;
    std::vector<uint64_t> offsets;  // of each record, index first_index + i
    std::vector<uint64_t> terms;
    uint64_t end = 0;               // file offset past the last record
    uint64_t last() const { return first_index + offsets.size() - 1; }
  };

  SegmentedLog(std::string dir, LogStorageOptions options);
  Status Recover();
  Status Check() const;
  Status Fail(Status s);
  Status OpenActive();
  Status StartSegment(uint64_t first_index, std::string* buf);
  Status FlushActive(std::string* buf, bool sync);
  Status RemoveSegmentsFrom(size_t k);
  const Segment* Find(uint64_t index) const;
  Status ReadFromDisk(uint64_t lo, uint64_t hi, uint64_t max_bytes, uint64_t* bytes,
                      std::vector<Entry>* out) const;
  void CacheAppend(const Entry& e);

  const std::string dir_;
  const LogStorageOptions options_;
  std::vector<Segment> segments_;  // oldest first; the last one is active
  uint64_t last_index_ = 0;
  int active_fd_ = -1;             // of segments_.back(), O_RDWR
  Status failed_;
  LogRecovery recovery_;
  std::deque<Entry> cache_;        // the newest entries, ending at last_index_
  uint64_t cache_payload_ = 0;
};

}  // namespace dougong::raft
