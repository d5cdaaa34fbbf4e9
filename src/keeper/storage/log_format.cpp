#include "keeper/storage/log_format.h"

#include <algorithm>
#include <cstring>

#include "keeper/storage/crc32c.h"
#include "keeper/storage/file_util.h"

namespace dougong::keeper::storage {
namespace {

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

std::string SegmentName(int64_t first_zxid) {
  return std::string(kSegmentPrefix) + Hex16(first_zxid);
}

bool ParseSegmentName(std::string_view name, int64_t* first_zxid) {
  return ParseHex16Name(name, kSegmentPrefix, "", first_zxid);
}

void EncodeSegmentHeader(int64_t first_zxid, char out[kSegmentHeaderSize]) {
  std::memcpy(out, kLogMagic.data(), kLogMagic.size());
  out[5] = static_cast<char>(kLogVersion);
  out[6] = 0;
  out[7] = 0;
  PutU64(out + 8, static_cast<uint64_t>(first_zxid));
}

void EncodeRecordHeader(int64_t zxid, std::string_view payload, char out[kRecordHeaderSize]) {
  PutU32(out + 4, static_cast<uint32_t>(payload.size()));
  PutU64(out + 8, static_cast<uint64_t>(zxid));
  uint32_t crc = Crc32c(out + 4, kRecordHeaderSize - 4);
  crc = Crc32cExtend(crc, payload.data(), payload.size());
  PutU32(out, crc);
}

void AppendRecord(int64_t zxid, std::string_view payload, std::string* out) {
  char header[kRecordHeaderSize];
  EncodeRecordHeader(zxid, payload, header);
  out->append(header, kRecordHeaderSize);
  out->append(payload);
}

std::string_view RecordCheckName(RecordCheck c) {
  switch (c) {
    case RecordCheck::kOk: return "ok";
    case RecordCheck::kCleanEnd: return "clean end";
    case RecordCheck::kIncomplete: return "incomplete record";
    case RecordCheck::kBadLength: return "impossible record length";
    case RecordCheck::kChecksum: return "checksum mismatch";
    case RecordCheck::kZeroHeader: return "zero record header followed by data";
    case RecordCheck::kBadZxid: return "zxid <= 0";
  }
  return "?";
}

RecordCheck CheckRecord(std::string_view data, uint64_t offset, RecordView* rec) {
  if (offset >= data.size()) return RecordCheck::kCleanEnd;
  std::string_view rest = data.substr(offset);
  if (rest.size() < kRecordHeaderSize) {
    return AllZero(rest) ? RecordCheck::kCleanEnd : RecordCheck::kIncomplete;
  }
  const char* h = rest.data();
  if (AllZero(rest.substr(0, kRecordHeaderSize))) {
    return AllZero(rest) ? RecordCheck::kCleanEnd : RecordCheck::kZeroHeader;
  }
  uint32_t crc = GetU32(h);
  uint32_t len = GetU32(h + 4);
  auto zxid = static_cast<int64_t>(GetU64(h + 8));
  if (len > kMaxRecordPayload) return RecordCheck::kBadLength;
  if (kRecordHeaderSize + uint64_t{len} > rest.size()) return RecordCheck::kIncomplete;
  uint32_t actual = Crc32c(h + 4, kRecordHeaderSize - 4);
  actual = Crc32cExtend(actual, h + kRecordHeaderSize, len);
  if (actual != crc) return RecordCheck::kChecksum;
  if (zxid <= 0) return RecordCheck::kBadZxid;
  rec->zxid = zxid;
  rec->payload = rest.substr(kRecordHeaderSize, len);
  rec->size = kRecordHeaderSize + len;
  return RecordCheck::kOk;
}

bool AnyValidRecordFrom(std::string_view data, uint64_t from) {
  // A record's header has a non-zero zxid, so none starts after the last
  // non-zero byte: skip a (preallocated) zero tail without scanning it.
  size_t nonzero_end = data.size();
  while (nonzero_end > from && data[nonzero_end - 1] == 0) --nonzero_end;
  for (uint64_t off = from; off < nonzero_end && off + kRecordHeaderSize <= data.size(); ++off) {
    const char* h = data.data() + off;
    uint32_t len = GetU32(h + 4);
    if (len > data.size() - off - kRecordHeaderSize) continue;  // cheap filter first
    if (GetU64(h + 8) == 0) continue;
    RecordView rec;
    if (CheckRecord(data, off, &rec) == RecordCheck::kOk) return true;
  }
  return false;
}

SegmentScan ScanSegment(std::string_view data, int64_t name_zxid, int64_t prev_zxid) {
  SegmentScan s;
  if (data.size() < kSegmentHeaderSize) {
    s.header_problem = "file shorter than its header";
    return s;
  }
  char expect[kSegmentHeaderSize];
  EncodeSegmentHeader(name_zxid, expect);
  if (std::memcmp(data.data(), expect, 8) != 0) {
    s.header_problem = AllZero(data.substr(0, kSegmentHeaderSize)) ? "zero-filled header"
                                                                   : "bad magic or version";
    return s;
  }
  if (std::memcmp(data.data() + 8, expect + 8, 8) != 0) {
    s.header_problem = "header zxid does not match the file name";
    return s;
  }
  s.header_ok = true;
  uint64_t pos = kSegmentHeaderSize;
  int64_t last = prev_zxid;
  while (true) {
    RecordView rec;
    RecordCheck c = CheckRecord(data, pos, &rec);
    if (c == RecordCheck::kCleanEnd) break;
    if (c == RecordCheck::kOk) {
      std::string logical;
      if (s.records == 0 && rec.zxid != name_zxid) {
        logical = "first record has zxid " + Hex16(rec.zxid) + ", the file name says " +
                  Hex16(name_zxid);
      } else if (rec.zxid <= last) {
        logical = "zxid " + Hex16(rec.zxid) + " not greater than the previous " + Hex16(last);
      }
      if (logical.empty()) {
        if (s.records == 0) s.first_zxid = rec.zxid;
        s.last_zxid = rec.zxid;
        last = rec.zxid;
        ++s.records;
        pos += rec.size;
        continue;
      }
      s.damaged = true;
      s.bad_offset = pos;
      s.problem = std::move(logical);
      s.physical = false;
      break;
    }
    s.damaged = true;
    s.bad_offset = pos;
    s.problem = std::string(RecordCheckName(c));
    s.physical = true;
    break;
  }
  s.valid_end = pos;
  if (s.damaged) s.valid_after = AnyValidRecordFrom(data, s.bad_offset + 1);
  return s;
}

}  // namespace dougong::keeper::storage
