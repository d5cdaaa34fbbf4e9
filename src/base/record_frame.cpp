#include "base/record_frame.h"

#include <algorithm>

#include "base/crc32c.h"
#include "base/file_util.h"

namespace dougong {

std::string_view RecordCheckName(RecordCheck c) {
  switch (c) {
    case RecordCheck::kOk: return "ok";
    case RecordCheck::kCleanEnd: return "clean end";
    case RecordCheck::kIncomplete: return "incomplete record";
    case RecordCheck::kBadLength: return "impossible record length";
    case RecordCheck::kChecksum: return "checksum mismatch";
    case RecordCheck::kZeroHeader: return "zero record header followed by data";
    case RecordCheck::kBadFields: return "impossible header field";
  }
  return "?";
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

RecordCheck CheckRecordFrame(std::string_view data, uint64_t offset, size_t header_size, uint32_t max_length,
                             std::string_view* record) {
  if (offset >= data.size()) return RecordCheck::kCleanEnd;
  std::string_view rest = data.substr(offset);
  if (rest.size() < header_size) return AllZero(rest) ? RecordCheck::kCleanEnd : RecordCheck::kIncomplete;
  if (AllZero(rest.substr(0, header_size))) return AllZero(rest) ? RecordCheck::kCleanEnd : RecordCheck::kZeroHeader;
  const char* h = rest.data();
  const uint32_t len = GetU32(h + 4);
  if (len > max_length) return RecordCheck::kBadLength;
  if (header_size + uint64_t{len} > rest.size()) return RecordCheck::kIncomplete;
  const uint32_t crc = Crc32cExtend(Crc32c(h + 4, header_size - 4), h + header_size, len);
  if (crc != GetU32(h)) return RecordCheck::kChecksum;
  if (GetU64(h + 8) == 0) return RecordCheck::kBadFields;
  *record = rest.substr(0, header_size + len);
  return RecordCheck::kOk;
}

bool AnyRecordFrom(std::string_view data, uint64_t from, size_t header_size, uint32_t max_length,
                   bool (*fields_ok)(std::string_view record)) {
  // Every record's key is non-zero, so none starts after the last non-zero
  // byte: a (preallocated) zero tail is skipped without scanning it.
  size_t nonzero_end = data.size();
  while (nonzero_end > from && data[nonzero_end - 1] == 0) --nonzero_end;
  for (uint64_t off = from; off < nonzero_end && off + header_size <= data.size(); ++off) {
    const char* h = data.data() + off;
    if (GetU32(h + 4) > data.size() - off - header_size) continue;  // cheap filters first
    if (GetU64(h + 8) == 0) continue;
    std::string_view record;
    if (CheckRecordFrame(data, off, header_size, max_length, &record) == RecordCheck::kOk && fields_ok(record)) {
      return true;
    }
  }
  return false;
}

}  // namespace dougong
