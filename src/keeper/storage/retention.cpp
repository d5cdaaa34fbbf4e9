#include "keeper/storage/retention.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/file_util.h"
#include "keeper/storage/txn_log.h"

namespace dougong::keeper::storage {

Result<SnapshotPurge> PurgeSnapshots(const std::string& dir, int keep, uint64_t delete_bytes_per_sec) {
  if (keep < 1) return InvalidArgument("must keep at least one snapshot");
  auto list = ListSnapshots(dir);
  if (!list.ok()) return list.status();
  SnapshotPurge out;
  // Newest first, until `keep` valid ones are found.
  size_t oldest_kept = list->size();
  for (size_t i = list->size(); i-- > 0 && static_cast<int>(out.kept.size()) < keep;) {
    Status s = VerifySnapshot((*list)[i], true);
    if (s.ok()) {
      out.kept.push_back((*list)[i]);
      oldest_kept = i;
    } else if (s.code() != Code::kDataLoss) {
      return s;  // an I/O error says nothing about the snapshot: stop here
    } else {
      spdlog::warn("retention: {}", s.message());
    }
  }
  std::reverse(out.kept.begin(), out.kept.end());
  if (out.kept.empty()) return out;
  bool removed = false;
  for (size_t i = 0; i < oldest_kept; ++i) {
    if (Status s = RemoveFilePaced((*list)[i].path, delete_bytes_per_sec); !s.ok()) return s;
    out.removed.push_back((*list)[i].path);
    removed = true;
  }
  if (removed) {
    if (Status s = FsyncDir(dir); !s.ok()) return s;
  }
  return out;
}

Result<RetentionReport> ApplyRetention(const std::string& snapshot_dir, const std::string& log_dir,
                                       int keep, uint64_t delete_bytes_per_sec) {
  RetentionReport report;
  auto purge = PurgeSnapshots(snapshot_dir, keep, delete_bytes_per_sec);
  if (!purge.ok()) return purge.status();
  report.snapshots = std::move(*purge);
  if (report.snapshots.kept.empty()) return report;
  const int64_t zxid = report.snapshots.kept.front().zxid;
  auto before = ListSegments(log_dir);
  if (!before.ok()) return before.status();
  if (Status s = PurgeLogBefore(log_dir, zxid, delete_bytes_per_sec); !s.ok()) return s;
  auto after = ListSegments(log_dir);
  if (!after.ok()) return after.status();
  for (const auto& seg : *before) {
    bool still = std::any_of(after->begin(), after->end(),
                             [&](const SegmentInfo& a) { return a.path == seg.path; });
    if (!still) report.removed_segments.push_back(seg.path);
  }
  report.log_purged_before = zxid;
  return report;
}

}  // namespace dougong::keeper::storage
