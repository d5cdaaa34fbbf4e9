// Retention: which snapshots and log segments may go.
//
// Recovery opens the newest valid snapshot (falling back to older ones if
// the newest is damaged) and replays the log after its zxid. So keeping the
// newest N snapshots is only useful together with the log from the oldest
// kept one on: ApplyRetention keeps both, and deletes the rest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "keeper/storage/snapshot_format.h"

namespace dougong::keeper::storage {

struct SnapshotPurge {
  std::vector<SnapshotInfo> kept;    // oldest first
  std::vector<std::string> removed;  // paths
};

// Keeps the newest `keep` (>= 1) snapshots that pass VerifySnapshot and
// deletes every snapshot older than the oldest of them. Damaged snapshots
// newer than that stay (the reader skips them). With no valid snapshot
// nothing is deleted. Files go at most `delete_bytes_per_sec` (0: at once;
// RemoveFilePaced).
Result<SnapshotPurge> PurgeSnapshots(const std::string& dir, int keep, uint64_t delete_bytes_per_sec = 0);

struct RetentionReport {
  SnapshotPurge snapshots;
  int64_t log_purged_before = 0;          // 0: the log was not touched
  std::vector<std::string> removed_segments;
};

// PurgeSnapshots(snapshot_dir, keep), then PurgeLogBefore(log_dir, zxid of
// the oldest kept snapshot): the log needed to replay from every kept
// snapshot stays. May run while a TxnLog appends to log_dir.
Result<RetentionReport> ApplyRetention(const std::string& snapshot_dir, const std::string& log_dir,
                                       int keep, uint64_t delete_bytes_per_sec = 0);

}  // namespace dougong::keeper::storage
