// Record framing shared by the keeper's transaction log and the Raft log
// (docs/keeper_storage.md, docs/raft.md): both frame a record as
//
//   u32 crc32c of bytes [4, header_size + length) | u32 length
//   | u64 key (zxid or index, never 0) | rest of the header | data
//
// so the checks that tell a valid record from a torn or zero-filled tail
// and from damage are the same; each format decodes its own fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dougong {

enum class RecordCheck {
  kOk,
  kCleanEnd,     // end of data, or nothing but zero bytes from here on
  kIncomplete,   // header or data cut off by the end of the data
  kBadLength,    // length above the format's maximum
  kChecksum,     // crc32c mismatch
  kZeroHeader,   // all-zero header, but non-zero bytes follow it
  kBadFields,    // checksum fine, but a field is impossible (key 0, unknown type, ...)
};
std::string_view RecordCheckName(RecordCheck c);

bool AllZero(std::string_view s);

// Checks the framing of the record at `offset` of `data`; on kOk *record is
// the whole record (header and data) for the format to decode (a key of 0
// is kBadFields).
RecordCheck CheckRecordFrame(std::string_view data, uint64_t offset, size_t header_size, uint32_t max_length,
                             std::string_view* record);

// True if some offset in [from, data.size()) starts a record whose framing
// is kOk and that `fields_ok` accepts: damage followed by such a record is
// not a torn tail.
bool AnyRecordFrom(std::string_view data, uint64_t from, size_t header_size, uint32_t max_length,
                   bool (*fields_ok)(std::string_view record));

}  // namespace dougong
