#include "raft/storage/format.h"

#include <cstring>

#include "base/crc32c.h"
#include "base/file_util.h"

namespace dougong::raft::storage {
namespace {

bool ParseIndexName(std::string_view name, std::string_view prefix, uint64_t* index) {
  int64_t v = 0;
  if (!ParseHex16Name(name, prefix, "", &v)) return false;
  *index = static_cast<uint64_t>(v);
  return true;
}

// Type known, padding zero (the framing is checked already).
bool FieldsOk(std::string_view r) {
  return static_cast<uint8_t>(r[24]) <= static_cast<uint8_t>(EntryType::kNoOp) && r[25] == 0 && r[26] == 0 &&
         r[27] == 0;
}

bool AnyValidRecordFrom(std::string_view data, uint64_t from) {
  return AnyRecordFrom(data, from, kRecordHeaderSize, kMaxRecordData, FieldsOk);
}

}  // namespace

std::string SegmentName(uint64_t first_index) {
  return std::string(kSegmentPrefix) + Hex16(static_cast<int64_t>(first_index));
}

bool ParseSegmentName(std::string_view name, uint64_t* first_index) {
  return ParseIndexName(name, kSegmentPrefix, first_index);
}

std::string SnapshotName(uint64_t index) {
  return std::string(kSnapshotPrefix) + Hex16(static_cast<int64_t>(index));
}

bool ParseSnapshotName(std::string_view name, uint64_t* index) {
  return ParseIndexName(name, kSnapshotPrefix, index);
}

void EncodeSegmentHeader(uint64_t first_index, char out[kSegmentHeaderSize]) {
  std::memcpy(out, kSegmentMagic.data(), 8);
  PutU64(out + 8, first_index);
  PutU32(out + 16, kFormatVersion);
  PutU32(out + 20, Crc32c(out, 20));
}

void AppendRecord(const Entry& e, std::string* out) {
  char h[kRecordHeaderSize] = {};
  PutU32(h + 4, static_cast<uint32_t>(e.data.size()));
  PutU64(h + 8, e.index);
  PutU64(h + 16, e.term);
  h[24] = static_cast<char>(e.type);
  uint32_t crc = Crc32c(h + 4, kRecordHeaderSize - 4);
  PutU32(h, Crc32cExtend(crc, e.data.data(), e.data.size()));
  out->append(h, kRecordHeaderSize);
  out->append(e.data);
}

RecordCheck CheckRecord(std::string_view data, uint64_t offset, RecordView* rec) {
  std::string_view r;
  RecordCheck c = CheckRecordFrame(data, offset, kRecordHeaderSize, kMaxRecordData, &r);
  if (c != RecordCheck::kOk) return c;
  if (!FieldsOk(r)) return RecordCheck::kBadFields;
  rec->index = GetU64(r.data() + 8);
  rec->term = GetU64(r.data() + 16);
  rec->type = static_cast<EntryType>(r[24]);
  rec->data = r.substr(kRecordHeaderSize);
  rec->size = r.size();
  return RecordCheck::kOk;
}

SegmentScan ScanSegment(std::string_view data, uint64_t first_index) {
  SegmentScan s;
  char expect[kSegmentHeaderSize];
  EncodeSegmentHeader(first_index, expect);
  if (data.size() < kSegmentHeaderSize || std::memcmp(data.data(), expect, kSegmentHeaderSize) != 0) {
    s.damaged = true;
    s.physical = true;
    if (data.size() < kSegmentHeaderSize) {
      s.problem = "file shorter than its header";
    } else if (AllZero(data.substr(0, kSegmentHeaderSize))) {
      s.problem = "zero-filled header";
    } else if (GetU32(data.data() + 20) == Crc32c(data.data(), 20)) {
      s.problem = "header's first index or version does not match";
      s.physical = false;
    } else {
      s.problem = "bad segment header (magic or checksum)";
    }
    s.valid_after = AnyValidRecordFrom(data, 0);
    return s;
  }
  s.header_ok = true;
  uint64_t pos = kSegmentHeaderSize;
  while (true) {
    RecordView rec;
    RecordCheck c = CheckRecord(data, pos, &rec);
    if (c == RecordCheck::kCleanEnd) break;
    const uint64_t want = first_index + s.offsets.size();
    if (c == RecordCheck::kOk && rec.index == want) {
      s.offsets.push_back(pos);
      s.terms.push_back(rec.term);
      pos += rec.size;
      continue;
    }
    s.damaged = true;
    s.bad_offset = pos;
    s.physical = c != RecordCheck::kOk;
    s.problem = s.physical ? std::string(RecordCheckName(c))
                           : "record has index " + std::to_string(rec.index) + ", expected " +
                                 std::to_string(want);
    break;
  }
  s.valid_end = pos;
  if (s.damaged) s.valid_after = AnyValidRecordFrom(data, s.bad_offset + 1);
  return s;
}

void EncodeHardStateSlot(uint64_t sequence, const HardState& hs, char out[kHardStateSlotSize]) {
  std::memcpy(out, kHardStateMagic.data(), 8);
  PutU32(out + 8, kFormatVersion);
  PutU32(out + 12, 0);
  PutU64(out + 16, sequence);
  PutU64(out + 24, hs.term);
  PutU64(out + 32, hs.vote);
  PutU64(out + 40, hs.commit);
  PutU32(out + 48, Crc32c(out, 48));
}

bool DecodeHardStateSlot(std::string_view slot, uint64_t* sequence, HardState* hs) {
  if (slot.size() < kHardStateSlotSize) return false;
  const char* p = slot.data();
  if (std::memcmp(p, kHardStateMagic.data(), 8) != 0 || GetU32(p + 8) != kFormatVersion) return false;
  if (GetU32(p + 48) != Crc32c(p, 48)) return false;
  *sequence = GetU64(p + 16);
  hs->term = GetU64(p + 24);
  hs->vote = GetU64(p + 32);
  hs->commit = GetU64(p + 40);
  return true;
}

namespace {

void PutIds(const std::set<NodeId>& ids, std::string* out) {
  char b[8];
  PutU32(b, static_cast<uint32_t>(ids.size()));
  out->append(b, 4);
  for (NodeId id : ids) {
    PutU64(b, id);
    out->append(b, 8);
  }
}

bool GetIds(std::string_view* in, std::set<NodeId>* ids) {
  if (in->size() < 4) return false;
  uint64_t n = GetU32(in->data());
  in->remove_prefix(4);
  if (in->size() < n * 8) return false;
  for (uint64_t i = 0; i < n; ++i) {
    ids->insert(GetU64(in->data()));
    in->remove_prefix(8);
  }
  return true;
}

}  // namespace

std::string EncodeSnapshotPrefix(const Snapshot& s) {
  std::string meta(16, '\0');
  PutU64(meta.data(), s.meta.index);
  PutU64(meta.data() + 8, s.meta.term);
  PutIds(s.meta.conf.voters, &meta);
  PutIds(s.meta.conf.learners, &meta);
  std::string out(kSnapshotHeaderSize, '\0');
  std::memcpy(out.data(), kSnapshotMagic.data(), 8);
  PutU32(out.data() + 8, kFormatVersion);
  PutU32(out.data() + 12, static_cast<uint32_t>(meta.size()));
  PutU64(out.data() + 16, s.data.size());
  return out + meta;
}

Result<Snapshot> DecodeSnapshotFile(std::string_view file) {
  if (file.size() < kSnapshotHeaderSize + 4) return Status(Code::kDataLoss, "file shorter than its header");
  const char* p = file.data();
  if (std::memcmp(p, kSnapshotMagic.data(), 8) != 0 || GetU32(p + 8) != kFormatVersion) {
    return Status(Code::kDataLoss, "bad magic or version");
  }
  const uint64_t meta_len = GetU32(p + 12);
  const uint64_t data_len = GetU64(p + 16);
  if (meta_len > file.size() || data_len > file.size() ||
      kSnapshotHeaderSize + meta_len + data_len + 4 != file.size()) {
    return Status(Code::kDataLoss, "size " + std::to_string(file.size()) + " does not match the header");
  }
  const size_t body = file.size() - 4;
  if (Crc32c(p, body) != GetU32(p + body)) return Status(Code::kDataLoss, "checksum mismatch");
  Snapshot s;
  std::string_view meta = file.substr(kSnapshotHeaderSize, meta_len);
  if (meta.size() < 16) return Status(Code::kDataLoss, "metadata too short");
  s.meta.index = GetU64(meta.data());
  s.meta.term = GetU64(meta.data() + 8);
  meta.remove_prefix(16);
  if (!GetIds(&meta, &s.meta.conf.voters) || !GetIds(&meta, &s.meta.conf.learners) || !meta.empty()) {
    return Status(Code::kDataLoss, "malformed membership in the metadata");
  }
  s.data.assign(file.substr(kSnapshotHeaderSize + meta_len, data_len));
  return s;
}

}  // namespace dougong::raft::storage
