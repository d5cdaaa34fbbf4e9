#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "base/file_util.h"
#include "dougong/raft/log_storage.h"
#include "raft/storage/format.h"

namespace dougong::raft {

using storage::kRecordHeaderSize;
using storage::kSegmentHeaderSize;

namespace {

Status DataLoss(std::string msg) { return Status(Code::kDataLoss, std::move(msg)); }

// Per-entry bookkeeping counted against LogStorageOptions::cache_bytes.
constexpr uint64_t kCacheOverhead = sizeof(Entry);

Status TruncateFile(const std::string& path, uint64_t size) {
  auto fd = OpenFile(path, O_RDWR);
  if (!fd.ok()) return fd.status();
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) return ErrnoStatus("ftruncate", path, errno);
  return Fdatasync(fd->get(), path);
}

}  // namespace

Result<std::unique_ptr<SegmentedLog>> SegmentedLog::Open(std::string dir, LogStorageOptions options) {
  if (options.segment_bytes < kSegmentHeaderSize + kRecordHeaderSize) return InvalidArgument("segment_bytes too small");
  if (options.max_entry_bytes > storage::kMaxRecordData) return InvalidArgument("max_entry_bytes above 1 GiB");
  if (Status s = CreateDirs(dir); !s.ok()) return s;
  std::unique_ptr<SegmentedLog> log(new SegmentedLog(std::move(dir), options));
  if (Status s = log->Recover(); !s.ok()) return s;
  return log;
}

SegmentedLog::SegmentedLog(std::string dir, LogStorageOptions options)
    : dir_(std::move(dir)), options_(options) {}

SegmentedLog::~SegmentedLog() {
  if (active_fd_ >= 0) ::close(active_fd_);
}

Status SegmentedLog::Recover() {
  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> firsts;
  for (const auto& name : *names) {
    uint64_t first = 0;
    if (storage::ParseSegmentName(name, &first) && first > 0) firsts.push_back(first);
  }
  std::sort(firsts.begin(), firsts.end());

  bool dir_dirty = false;
  for (size_t i = 0; i < firsts.size(); ++i) {
    const std::string path = JoinPath(dir_, storage::SegmentName(firsts[i]));
    const bool last = i + 1 == firsts.size();
    auto data = ReadWholeFile(path);
    if (!data.ok()) return data.status();
    storage::SegmentScan scan = storage::ScanSegment(*data, firsts[i]);
    if (!scan.damaged && !segments_.empty() && firsts[i] != last_index_ + 1) {
      scan.damaged = true;
      scan.physical = false;
      scan.bad_offset = 0;
      scan.problem = "segment starts at index " + std::to_string(firsts[i]) + " but the previous one ends at " +
                     std::to_string(last_index_);
      scan.offsets.clear();
    } else if (!scan.damaged && scan.offsets.empty() && !last) {
      scan.damaged = true;
      scan.physical = false;
      scan.bad_offset = kSegmentHeaderSize;
      scan.problem = "segment has no records but later segments follow";
    }

    if (scan.damaged) {
      const bool torn = last && scan.physical && !scan.valid_after;
      if (!torn && !options_.repair) {
        std::string msg = "raft log: corrupt record in " + path + " at offset " + std::to_string(scan.bad_offset) +
                          " (" + scan.problem + ")";
        if (!last) msg += "; " + std::to_string(firsts.size() - i - 1) + " later segment(s) follow";
        else if (scan.valid_after) msg += "; valid records follow it";
        return DataLoss(msg + "; open with repair to cut the log there");
      }
      (torn ? recovery_.torn_tail : recovery_.repaired) = true;
      recovery_.problem = scan.problem;
      recovery_.truncated_path = path;
      recovery_.truncated_offset = scan.bad_offset;
      // Later segments go first (newest first, each removal durable), so a
      // crash in between leaves a contiguous log to cut again.
      for (size_t k = firsts.size(); k-- > i + 1;) {
        const std::string later = JoinPath(dir_, storage::SegmentName(firsts[k]));
        auto fd = OpenFile(later, O_RDONLY);
        if (fd.ok()) {
          auto size = FileSize(fd->get(), later);
          if (size.ok()) recovery_.dropped_bytes += *size;
        }
        if (Status s = RemoveFile(later); !s.ok()) return s;
        if (Status s = FsyncDir(dir_); !s.ok()) return s;
        recovery_.removed_files.push_back(later);
      }
      if (!scan.offsets.empty()) {
        if (Status s = TruncateFile(path, scan.bad_offset); !s.ok()) return s;
        recovery_.dropped_bytes += data->size() - scan.bad_offset;
      } else {
        if (Status s = RemoveFile(path); !s.ok()) return s;
        recovery_.dropped_bytes += data->size();
        recovery_.removed_files.push_back(path);
        dir_dirty = true;
      }
    } else if (!scan.offsets.empty() && scan.valid_end < data->size()) {
      // Zeros after the last record (a crash after the file grew but before
      // its data was written): cut them off too.
      if (Status s = TruncateFile(path, scan.valid_end); !s.ok()) return s;
      recovery_.torn_tail = true;
      recovery_.problem = "zero-filled tail";
      recovery_.truncated_path = path;
      recovery_.truncated_offset = scan.valid_end;
      recovery_.dropped_bytes += data->size() - scan.valid_end;
    } else if (scan.offsets.empty()) {
      // A header-only last segment (crash right after creating it): drop it
      // so that the next append names its segment after its own index.
      if (Status s = RemoveFile(path); !s.ok()) return s;
      recovery_.removed_files.push_back(path);
      dir_dirty = true;
    }
    if (!scan.offsets.empty()) {
      Segment seg{firsts[i], path, std::move(scan.offsets), std::move(scan.terms), scan.valid_end};
      std::string_view view(*data);
      for (uint64_t off : seg.offsets) {
        storage::RecordView rec;
        storage::CheckRecord(view, off, &rec);
        CacheAppend(Entry{rec.index, rec.term, rec.type, std::string(rec.data)});
      }
      last_index_ = seg.last();
      recovery_.entries += seg.offsets.size();
      segments_.push_back(std::move(seg));
    }
    if (scan.damaged) break;
  }
  if (dir_dirty) {
    if (Status s = FsyncDir(dir_); !s.ok()) return s;
  }
  recovery_.segments = segments_.size();
  return segments_.empty() ? Status::Ok() : OpenActive();
}

Status SegmentedLog::Check() const { return failed_; }

Status SegmentedLog::Fail(Status s) {
  if (failed_.ok() && !s.ok()) failed_ = Status(s.code(), s.message() + " (raft log " + dir_ + " refuses writes now)");
  return s;
}

Status SegmentedLog::OpenActive() {
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
  auto fd = OpenFile(segments_.back().path, O_RDWR);
  if (!fd.ok()) return Fail(fd.status());
  active_fd_ = fd->Release();
  return Status::Ok();
}

Status SegmentedLog::StartSegment(uint64_t first_index, std::string* buf) {
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
  std::string path = JoinPath(dir_, storage::SegmentName(first_index));
  auto fd = OpenFile(path, O_RDWR | O_CREAT | O_EXCL);
  if (!fd.ok()) return Fail(fd.status());
  active_fd_ = fd->Release();
  segments_.push_back(Segment{first_index, std::move(path), {}, {}, 0});
  char header[kSegmentHeaderSize];
  storage::EncodeSegmentHeader(first_index, header);
  buf->append(header, kSegmentHeaderSize);
  return Status::Ok();
}

Status SegmentedLog::FlushActive(std::string* buf, bool sync) {
  Segment& seg = segments_.back();
  if (!buf->empty()) {
    if (Status s = PwriteAll(active_fd_, seg.path, buf->data(), buf->size(), seg.end); !s.ok()) return Fail(s);
    seg.end += buf->size();
    buf->clear();
  }
  return sync ? Fail(Fdatasync(active_fd_, seg.path)) : Status::Ok();
}

Status SegmentedLog::Append(std::span<const Entry> entries) {
  if (Status s = Check(); !s.ok()) return s;
  if (entries.empty()) return Status::Ok();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.index == 0 || (i > 0 && e.index != entries[i - 1].index + 1)) {
      return InvalidArgument("raft log: appended entries must have contiguous indexes > 0");
    }
    if (e.type > EntryType::kNoOp) return InvalidArgument("raft log: entry " + std::to_string(e.index) + " has an unknown type");
    if (e.data.size() > options_.max_entry_bytes) {
      return InvalidArgument("raft log: entry " + std::to_string(e.index) + " of " + std::to_string(e.data.size()) +
                             " bytes exceeds max_entry_bytes");
    }
  }
  const uint64_t first = entries.front().index;
  if (!empty()) {
    if (first < first_index() || first > last_index_ + 1) {
      return InvalidArgument("raft log: append at " + std::to_string(first) + " outside [" +
                             std::to_string(first_index()) + ", " + std::to_string(last_index_ + 1) + "]");
    }
    if (first <= last_index_) {
      if (Status s = TruncateSuffix(first); !s.ok()) return s;
    }
  }
  std::string buf;
  bool dir_dirty = false;
  for (const Entry& e : entries) {
    const uint64_t size = kRecordHeaderSize + e.data.size();
    if (segments_.empty() ||
        (!segments_.back().offsets.empty() && segments_.back().end + buf.size() + size > options_.segment_bytes)) {
      if (!segments_.empty()) {
        // The full segment is durable before the next one can be: a crash
        // never leaves a torn segment in the middle of the log.
        if (Status s = FlushActive(&buf, true); !s.ok()) return s;
        if (dir_dirty) {
          if (Status s = Fail(FsyncDir(dir_)); !s.ok()) return s;
        }
      }
      if (Status s = StartSegment(e.index, &buf); !s.ok()) return s;
      dir_dirty = true;
    }
    Segment& seg = segments_.back();
    seg.offsets.push_back(seg.end + buf.size());
    seg.terms.push_back(e.term);
    storage::AppendRecord(e, &buf);
  }
  if (Status s = FlushActive(&buf, true); !s.ok()) return s;
  if (dir_dirty) {
    if (Status s = Fail(FsyncDir(dir_)); !s.ok()) return s;
  }
  last_index_ = entries.back().index;
  for (const Entry& e : entries) CacheAppend(e);
  return Status::Ok();
}

Status SegmentedLog::RemoveSegmentsFrom(size_t k) {
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
  // Newest first, each removal durable before the next: a crash leaves a
  // contiguous prefix of the log.
  while (segments_.size() > k) {
    if (Status s = RemoveFile(segments_.back().path); !s.ok()) return Fail(s);
    if (Status s = FsyncDir(dir_); !s.ok()) return Fail(s);
    segments_.pop_back();
  }
  return segments_.empty() ? Status::Ok() : OpenActive();
}

Status SegmentedLog::TruncateSuffix(uint64_t from) {
  if (Status s = Check(); !s.ok()) return s;
  if (empty() || from > last_index_) return Status::Ok();
  if (from <= first_index()) return Reset();
  auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                             [](uint64_t i, const Segment& s) { return i < s.first_index; });
  const auto k = static_cast<size_t>(it - segments_.begin()) - 1;
  if (from == segments_[k].first_index) {
    if (Status s = RemoveSegmentsFrom(k); !s.ok()) return s;
  } else {
    if (Status s = RemoveSegmentsFrom(k + 1); !s.ok()) return s;
    Segment& seg = segments_.back();
    const uint64_t keep = from - seg.first_index;
    const uint64_t off = seg.offsets[keep];
    if (::ftruncate(active_fd_, static_cast<off_t>(off)) != 0) return Fail(ErrnoStatus("ftruncate", seg.path, errno));
    // Durable before anything new is written there: otherwise a crash could
    // leave old records behind a torn new one, which reads as corruption.
    if (Status s = Fail(Fdatasync(active_fd_, seg.path)); !s.ok()) return s;
    seg.offsets.resize(keep);
    seg.terms.resize(keep);
    seg.end = off;
  }
  last_index_ = from - 1;
  while (!cache_.empty() && cache_.back().index >= from) {
    cache_payload_ -= cache_.back().data.size() + kCacheOverhead;
    cache_.pop_back();
  }
  return Status::Ok();
}

Status SegmentedLog::Reset() {
  if (Status s = Check(); !s.ok()) return s;
  if (Status s = RemoveSegmentsFrom(0); !s.ok()) return s;
  last_index_ = 0;
  cache_.clear();
  cache_payload_ = 0;
  return Status::Ok();
}

Result<uint64_t> SegmentedLog::CompactTo(uint64_t index) {
  if (Status s = Check(); !s.ok()) return s;
  uint64_t removed = 0;
  // Oldest first, each removal durable before the next: a crash leaves a
  // contiguous suffix of the log.
  while (segments_.size() > 1 && segments_[1].first_index <= index + 1) {
    if (Status s = RemoveFile(segments_.front().path); !s.ok()) return Fail(s);
    if (Status s = FsyncDir(dir_); !s.ok()) return Fail(s);
    segments_.erase(segments_.begin());
    ++removed;
  }
  while (!cache_.empty() && cache_.front().index < first_index()) {
    cache_payload_ -= cache_.front().data.size() + kCacheOverhead;
    cache_.pop_front();
  }
  return removed;
}

void SegmentedLog::CacheAppend(const Entry& e) {
  cache_.push_back(e);
  cache_payload_ += e.data.size() + kCacheOverhead;
  while (!cache_.empty() && cache_payload_ > options_.cache_bytes) {
    cache_payload_ -= cache_.front().data.size() + kCacheOverhead;
    cache_.pop_front();
  }
}

const SegmentedLog::Segment* SegmentedLog::Find(uint64_t index) const {
  if (empty() || index < first_index() || index > last_index_) return nullptr;
  auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                             [](uint64_t i, const Segment& s) { return i < s.first_index; });
  return &*(it - 1);
}

Result<uint64_t> SegmentedLog::Term(uint64_t index) const {
  const Segment* seg = Find(index);
  if (seg == nullptr) return NotFound("raft log: index " + std::to_string(index) + " not stored");
  return seg->terms[index - seg->first_index];
}

std::vector<std::string> SegmentedLog::SegmentPaths() const {
  std::vector<std::string> paths;
  for (const Segment& s : segments_) paths.push_back(s.path);
  return paths;
}

Status SegmentedLog::ReadFromDisk(uint64_t lo, uint64_t hi, uint64_t max_bytes, uint64_t* bytes,
                                  std::vector<Entry>* out) const {
  while (lo < hi) {
    const Segment* seg = Find(lo);
    const uint64_t seg_hi = std::min(hi, seg->last() + 1);
    const uint64_t begin = seg->offsets[lo - seg->first_index];
    const uint64_t end = seg_hi > seg->last() ? seg->end : seg->offsets[seg_hi - seg->first_index];
    auto fd = OpenFile(seg->path, O_RDONLY);
    if (!fd.ok()) return fd.status();
    std::string data(end - begin, '\0');
    auto n = PreadAll(fd->get(), seg->path, data.data(), data.size(), begin);
    if (!n.ok()) return n.status();
    data.resize(*n);
    uint64_t pos = 0;
    for (uint64_t i = lo; i < seg_hi; ++i) {
      storage::RecordView rec;
      RecordCheck c = storage::CheckRecord(data, pos, &rec);
      if (c != RecordCheck::kOk || rec.index != i) {
        return DataLoss("raft log: corrupt record in " + seg->path + " at offset " + std::to_string(begin + pos) +
                        " (" + std::string(RecordCheckName(c)) + ")");
      }
      if (max_bytes > 0 && !out->empty() && *bytes + rec.data.size() > max_bytes) return Status::Ok();
      out->push_back(Entry{rec.index, rec.term, rec.type, std::string(rec.data)});
      *bytes += rec.data.size();
      pos += rec.size;
    }
    lo = seg_hi;
  }
  return Status::Ok();
}

Result<std::vector<Entry>> SegmentedLog::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  if (lo > hi || (lo < hi && (empty() || lo < first_index() || hi > last_index_ + 1))) {
    return Status(Code::kOutOfRange, "raft log: entries [" + std::to_string(lo) + ", " + std::to_string(hi) + ") not stored (log holds [" +
                      std::to_string(first_index()) + ", " + std::to_string(last_index() + 1) + "))");
  }
  std::vector<Entry> out;
  uint64_t bytes = 0;
  const uint64_t cache_first = cache_.empty() ? last_index_ + 1 : cache_.front().index;
  uint64_t i = lo;
  if (i < std::min(hi, cache_first)) {
    const uint64_t disk_hi = std::min(hi, cache_first);
    if (Status s = ReadFromDisk(i, disk_hi, max_bytes, &bytes, &out); !s.ok()) return s;
    i = lo + out.size();
    if (i < disk_hi) return out;  // max_bytes reached
  }
  for (; i < hi; ++i) {
    const Entry& e = cache_[i - cache_first];
    if (max_bytes > 0 && !out.empty() && bytes + e.data.size() > max_bytes) break;
    out.push_back(e);
    bytes += e.data.size();
  }
  return out;
}

}  // namespace dougong::raft
