// SnapshotWriter: streams one snapshot to "<dir>/snapshot.<unique>.tmp",
// then Finish(zxid) completes header and trailer, fsyncs, renames it to
// "snapshot.<16 hex zxid>" and fsyncs the directory, so a snapshot file
// either exists complete or not at all. Format: snapshot_format.h.
//
// A writer is used by one thread at a time; it shares nothing with TxnLog
// except the directory, so it may run on a background thread while the log
// appends. The .tmp file is flock()ed while it is written, so that a
// SnapshotReader opened meanwhile leaves it alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "base/file_util.h"
#include "keeper/storage/snapshot_format.h"

namespace dougong::keeper::storage {

class SnapshotWriter {
 public:
  // Creates `dir` if needed and the .tmp file in it.
  static Result<std::unique_ptr<SnapshotWriter>> Create(const std::string& dir);
  // An unfinished snapshot is abandoned: its .tmp file is deleted.
  ~SnapshotWriter();

  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Adds one chunk (< 4 GiB); the reader returns the same chunks in order.
  Status Append(std::string_view chunk);
  // Seals the snapshot as covering the log up to and including last_zxid
  // (> 0); recovery replays the log from last_zxid + 1.
  Result<SnapshotInfo> Finish(int64_t last_zxid);
  // Deletes the .tmp file; later calls fail.
  void Abandon();
  // Writes at most `bytes_per_sec` on average (0, the default: no limit) by
  // sleeping between writeback windows: the log's fdatasyncs share the disk.
  void SetRateLimit(uint64_t bytes_per_sec) { rate_limit_ = bytes_per_sec; }

  const std::string& tmp_path() const { return tmp_path_; }
  uint64_t body_bytes() const { return body_size_; }

 private:
  SnapshotWriter(std::string dir, std::string tmp_path, UniqueFd fd);
  Status Flush();
  Status WriteBack();

  const std::string dir_;
  const std::string tmp_path_;
  UniqueFd fd_;
  std::string buf_;
  uint64_t file_offset_ = 0;  // where buf_ goes
  uint64_t writeback_offset_ = 0;  // writeback started for [0, this)
  uint64_t rate_limit_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  uint64_t body_size_ = 0;
  uint32_t body_crc_ = 0;
  bool done_ = false;
  Status failed_;
};

}  // namespace dougong::keeper::storage
