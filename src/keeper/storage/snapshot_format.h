// The keeper's snapshot files (byte layout in docs/keeper_storage.md):
//
//   name     "snapshot.<16 hex digits of its zxid>"; being written:
//            "snapshot.<unique>.tmp" (never read, deleted by the reader)
//   header   24 bytes: "DGSNAP" | u8 version (1) | u8 0 | i64 zxid |
//            u32 crc32c of bytes [0, 16) | u32 0
//   body     chunks, each u32 length + bytes, as given to SnapshotWriter::Append
//   trailer  16 bytes: u64 body length | u32 crc32c of the body | "DGSE"
//
// All integers little-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::keeper::storage {

inline constexpr std::string_view kSnapshotMagic = "DGSNAP";
inline constexpr std::string_view kSnapshotTrailerMagic = "DGSE";
inline constexpr uint8_t kSnapshotVersion = 1;
inline constexpr size_t kSnapshotHeaderSize = 24;
inline constexpr size_t kSnapshotTrailerSize = 16;
inline constexpr std::string_view kSnapshotPrefix = "snapshot.";
inline constexpr std::string_view kSnapshotTmpSuffix = ".tmp";

struct SnapshotInfo {
  std::string path;
  int64_t zxid = 0;
  uint64_t size = 0;
};

std::string SnapshotName(int64_t zxid);
bool ParseSnapshotName(std::string_view name, int64_t* zxid);
bool IsSnapshotTmpName(std::string_view name);

void EncodeSnapshotHeader(int64_t zxid, char out[kSnapshotHeaderSize]);
void EncodeSnapshotTrailer(uint64_t body_size, uint32_t body_crc, char out[kSnapshotTrailerSize]);

// Finished snapshots of `dir` (by name; not checked), oldest first.
Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& dir);

// Checks header, trailer and size; with `check_body` also the body's crc32c.
// kDataLoss with the reason when the snapshot is damaged or truncated.
Status VerifySnapshot(const SnapshotInfo& snapshot, bool check_body = true);

}  // namespace dougong::keeper::storage
