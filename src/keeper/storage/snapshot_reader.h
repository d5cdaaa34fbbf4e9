// SnapshotReader: opens the newest valid snapshot of a directory and streams
// its chunks back in the order they were written.
//
// OpenNewest checks snapshots newest first (header, trailer, length and the
// body's crc32c) and takes the first that passes; each one skipped is named
// with its reason in info().warnings. Leftover "snapshot.*.tmp" files are
// deleted (except one a live SnapshotWriter still holds locked).
// Falling back to an older snapshot is safe as long as retention
// (retention.h) kept the log needed to replay from it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "base/file_util.h"
#include "keeper/storage/snapshot_format.h"

namespace dougong::keeper::storage {

struct SnapshotOpenInfo {
  SnapshotInfo snapshot;                  // the one opened
  std::vector<std::string> warnings;      // snapshots skipped, and why
  std::vector<std::string> removed_tmp;   // .tmp files deleted
};

class SnapshotReader {
 public:
  // kNotFound if `dir` has no snapshot at all (start from an empty tree);
  // kDataLoss, listing the reasons, if it has snapshots but none is valid.
  static Result<std::unique_ptr<SnapshotReader>> OpenNewest(const std::string& dir);
  // One given snapshot, verified first.
  static Result<std::unique_ptr<SnapshotReader>> Open(const SnapshotInfo& snapshot);

  const SnapshotOpenInfo& info() const { return info_; }
  int64_t zxid() const { return info_.snapshot.zxid; }

  // The next chunk into *chunk: true, or false after the last one. The
  // body's checksum is checked again on the way (kDataLoss if the file
  // changed after it was opened).
  Result<bool> Next(std::string* chunk);

 private:
  SnapshotReader(SnapshotOpenInfo info, UniqueFd fd, uint64_t body_end, uint32_t body_crc);
  Status Read(char* out, size_t n);

  SnapshotOpenInfo info_;
  UniqueFd fd_;
  const uint64_t body_end_;
  const uint32_t expected_crc_;
  uint64_t pos_;             // file offset of the next unread byte
  std::string buf_;          // read-ahead
  size_t buf_pos_ = 0;
  uint64_t buf_file_end_ = 0;  // file offset just past buf_
  uint32_t crc_ = 0;
  bool finished_ = false;
};

}  // namespace dougong::keeper::storage
