// On-disk formats of the Raft storage (docs/raft.md, "Storage", has the
// byte layout): log segments and their records, the hard-state file, and
// snapshot files. All integers little-endian.
//
//   segment   "log.<16 hex first index>"
//             header 24 bytes: "DGRFTLOG" | u64 first index | u32 version (1)
//                              | u32 crc32c of bytes [0, 20)
//   record    28-byte header + data:
//             u32 crc32c of bytes [4, 28 + length) | u32 length | u64 index
//             | u64 term | u8 type | 3 zero bytes | data
//
// Indexes are > 0, so an all-zero record header is never a record: it marks
// a zero-filled tail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/record_frame.h"
#include "dougong/base/result.h"
#include "dougong/raft/types.h"

namespace dougong::raft::storage {

inline constexpr std::string_view kSegmentMagic = "DGRFTLOG";
inline constexpr std::string_view kHardStateMagic = "DGRFTHST";
inline constexpr std::string_view kSnapshotMagic = "DGRFTSNP";
inline constexpr uint32_t kFormatVersion = 1;

inline constexpr size_t kSegmentHeaderSize = 24;
inline constexpr size_t kRecordHeaderSize = 28;
// Larger lengths on disk are damage.
inline constexpr uint32_t kMaxRecordData = 1u << 30;

inline constexpr std::string_view kSegmentPrefix = "log.";
inline constexpr std::string_view kSnapshotPrefix = "snap.";
inline constexpr std::string_view kTmpSuffix = ".tmp";
inline constexpr std::string_view kHardStateName = "hardstate";
inline constexpr std::string_view kLockName = "LOCK";

std::string SegmentName(uint64_t first_index);
bool ParseSegmentName(std::string_view name, uint64_t* first_index);
void EncodeSegmentHeader(uint64_t first_index, char out[kSegmentHeaderSize]);
// Appends the encoded record of `e` to *out.
void AppendRecord(const Entry& e, std::string* out);

struct RecordView {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryType type = EntryType::kNormal;
  std::string_view data;
  uint64_t size = 0;  // header + data
};

// Framing as base/record_frame.h; kBadFields also for an unknown type or
// non-zero padding.
RecordCheck CheckRecord(std::string_view data, uint64_t offset, RecordView* rec);

// The result of checking one whole segment file.
struct SegmentScan {
  bool header_ok = false;         // if not: damaged at offset 0
  std::vector<uint64_t> offsets;  // of the valid records, in order
  std::vector<uint64_t> terms;
  uint64_t valid_end = 0;         // offset past the last valid record
  bool damaged = false;
  uint64_t bad_offset = 0;
  std::string problem;
  // Physical damage (cut off, checksum, zeros) rather than a well-formed
  // record out of place (wrong index).
  bool physical = false;
  // Some offset after bad_offset starts a record that passes CheckRecord:
  // the damage is not a torn tail.
  bool valid_after = false;
};

// Checks `data`, a segment named for `first_index`: records must carry the
// indexes first_index, first_index + 1, ...
SegmentScan ScanSegment(std::string_view data, uint64_t first_index);

// Hard state: two slots (at offsets 0 and kHardStateSlotStride) of
//   "DGRFTHST" | u32 version | u32 0 | u64 sequence | u64 term | u64 vote
//   | u64 commit | u32 crc32c of bytes [0, 48)
inline constexpr size_t kHardStateSlotSize = 52;
inline constexpr uint64_t kHardStateSlotStride = 4096;
inline constexpr uint64_t kHardStateFileSize = 2 * kHardStateSlotStride;
void EncodeHardStateSlot(uint64_t sequence, const HardState& hs, char out[kHardStateSlotSize]);
// false if the slot is not valid (magic, version, crc).
bool DecodeHardStateSlot(std::string_view slot, uint64_t* sequence, HardState* hs);

// Snapshot file "snap.<16 hex index>":
//   "DGRFTSNP" | u32 version | u32 meta length M | u64 data length D
//   | meta (u64 index | u64 term | u32 n | n x u64 voter | u32 m | m x u64 learner)
//   | data | u32 crc32c of everything before it
inline constexpr size_t kSnapshotHeaderSize = 24;
std::string SnapshotName(uint64_t index);
bool ParseSnapshotName(std::string_view name, uint64_t* index);
std::string EncodeSnapshotPrefix(const Snapshot& s);  // header and meta
// Checks and decodes a whole snapshot file.
Result<Snapshot> DecodeSnapshotFile(std::string_view file);

}  // namespace dougong::raft::storage
