#include "keeper/storage/log_format.h"

#include <algorithm>
#include <cstring>

#include "base/crc32c.h"
#include "base/file_util.h"

namespace dougong::keeper::storage {
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

RecordCheck CheckRecord(std::string_view data, uint64_t offset, RecordView* rec) {
  std::string_view r;
  RecordCheck c = CheckRecordFrame(data, offset, kRecordHeaderSize, kMaxRecordPayload, &r);
  if (c != RecordCheck::kOk) return c;
  auto zxid = static_cast<int64_t>(GetU64(r.data() + 8));
  if (zxid <= 0) return RecordCheck::kBadFields;
  rec->zxid = zxid;
  rec->payload = r.substr(kRecordHeaderSize);
  rec->size = r.size();
  return RecordCheck::kOk;
}

bool AnyValidRecordFrom(std::string_view data, uint64_t from) {
  return AnyRecordFrom(data, from, kRecordHeaderSize, kMaxRecordPayload,
                       [](std::string_view r) { return static_cast<int64_t>(GetU64(r.data() + 8)) > 0; });
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
