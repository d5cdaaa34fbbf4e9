// The on-disk format of the keeper's transaction log segments
// (docs/keeper_storage.md has the byte layout) and the scanner that checks a
// segment and finds where its valid records end.
//
//   segment file  "log.<16 hex digits of its first zxid>"
//   file header   16 bytes: "DGLOG" | u8 version (1) | u16 reserved (0) | i64 first zxid
//   record        16-byte header + payload:
//                 u32 crc32c of bytes [4, 16 + length) | u32 length | i64 zxid | payload
//
// All integers little-endian. zxids are > 0, so an all-zero record header is
// never a record: it marks the zero-filled end of a preallocated segment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/record_frame.h"

namespace dougong::keeper::storage {

inline constexpr std::string_view kLogMagic = "DGLOG";
inline constexpr uint8_t kLogVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 16;
inline constexpr size_t kRecordHeaderSize = 16;
// Hard upper bound of a record payload on disk; larger lengths are damage.
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;
inline constexpr std::string_view kSegmentPrefix = "log.";

std::string SegmentName(int64_t first_zxid);
// true and *first_zxid for "log.<16 hex>", false for any other name.
bool ParseSegmentName(std::string_view name, int64_t* first_zxid);

void EncodeSegmentHeader(int64_t first_zxid, char out[kSegmentHeaderSize]);
// Appends the record header and payload to *out.
void AppendRecord(int64_t zxid, std::string_view payload, std::string* out);
// Encodes only the 16-byte header (for gathered writes of the payload).
void EncodeRecordHeader(int64_t zxid, std::string_view payload, char out[kRecordHeaderSize]);

struct RecordView {
  int64_t zxid = 0;
  std::string_view payload;
  uint64_t size = 0;  // header + payload
};

// Checks the record at `offset` of `data` (framing: base/record_frame.h;
// a zxid <= 0 is kBadFields).
RecordCheck CheckRecord(std::string_view data, uint64_t offset, RecordView* rec);

// True if any offset in [from, data.size()) starts a record that passes
// CheckRecord: damage followed by such a record is not a torn tail.
bool AnyValidRecordFrom(std::string_view data, uint64_t from);

// Result of checking one whole segment.
struct SegmentScan {
  bool header_ok = false;
  std::string header_problem;   // when !header_ok
  uint64_t valid_end = 0;       // offset just past the last good record
  uint64_t records = 0;
  int64_t first_zxid = 0;       // of the records; 0 when there are none
  int64_t last_zxid = 0;
  bool damaged = false;         // a bad record at bad_offset
  uint64_t bad_offset = 0;
  std::string problem;          // "checksum mismatch", ...
  // The damage is physical (cut off, checksum, ...) rather than a
  // well-formed record in the wrong place (zxid order, wrong first zxid).
  bool physical = false;
  // A valid record starts somewhere after bad_offset.
  bool valid_after = false;
};

// Scans `data` (a whole segment file named for `name_zxid`). Records must
// have zxids > prev_zxid, strictly increasing, the first equal to name_zxid.
SegmentScan ScanSegment(std::string_view data, int64_t name_zxid, int64_t prev_zxid);

}  // namespace dougong::keeper::storage
