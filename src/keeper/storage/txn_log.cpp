#include "keeper/storage/txn_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "base/thread_name.h"
#include "keeper/storage/log_format.h"

namespace dougong::keeper::storage {

Result<std::vector<SegmentInfo>> ListSegments(const std::string& dir) {
  auto names = ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<SegmentInfo> segs;
  for (const auto& name : *names) {
    int64_t zxid;
    if (ParseSegmentName(name, &zxid)) segs.push_back({JoinPath(dir, name), zxid});
  }
  std::sort(segs.begin(), segs.end(),
            [](const SegmentInfo& a, const SegmentInfo& b) { return a.first_zxid < b.first_zxid; });
  return segs;
}

Status PurgeLogBefore(const std::string& dir, int64_t zxid, uint64_t delete_bytes_per_sec) {
  auto segs = ListSegments(dir);
  if (!segs.ok()) return segs.status();
  bool removed = false;
  for (size_t i = 0; i + 1 < segs->size(); ++i) {
    // Records of segment i are all < the next segment's first zxid.
    if ((*segs)[i + 1].first_zxid - 1 > zxid) break;
    if (Status s = RemoveFilePaced((*segs)[i].path, delete_bytes_per_sec); !s.ok()) return s;
    removed = true;
  }
  return removed ? FsyncDir(dir) : Status::Ok();
}

Result<std::unique_ptr<TxnLog>> TxnLog::Open(std::string dir, TxnLogOptions options) {
  if (options.segment_bytes < kSegmentHeaderSize + kRecordHeaderSize)
    return InvalidArgument("segment_bytes too small");
  if (Status s = CreateDirs(dir); !s.ok()) return s;
  std::string lock_path = JoinPath(dir, "log.lock");
  auto lock_fd = OpenFile(lock_path, O_RDWR | O_CREAT);
  if (!lock_fd.ok()) return lock_fd.status();
  if (::flock(lock_fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return FailedPrecondition("log directory " + dir + " is in use (" + lock_path + " is locked)");
    return ErrnoStatus("flock", lock_path, errno);
  }
  auto segs = ListSegments(dir);
  if (!segs.ok()) return segs.status();
  std::unique_ptr<TxnLog> log(new TxnLog(std::move(dir), options, std::move(*lock_fd)));
  log->ready_ = segs->empty();
  if (options.sync_thread) {
    log->sync_thread_ = std::thread([p = log.get()] {
      SetThreadName("txnlog-sync");
      p->SyncLoop();
    });
  }
  if (options.prefill_bytes > 0) {
    log->fill_thread_ = std::thread([p = log.get()] {
      SetThreadName("txnlog-fill");
      p->PrefillLoop();
    });
  }
  return log;
}

TxnLog::TxnLog(std::string dir, TxnLogOptions options, UniqueFd lock_fd)
    : dir_(std::move(dir)),
      options_(options),
      lock_fd_(std::move(lock_fd)),
      fill_chunk_(std::clamp<uint64_t>(options.prefill_bytes / 8, 4 << 10, 256 << 10)) {}

TxnLog::~TxnLog() { (void)Close(); }

void TxnLog::Append(int64_t zxid, std::string payload, DurableCallback durable) {
  if (closed_) return durable(FailedPrecondition("txn log " + dir_ + " is closed"));
  if (!ready_)
    return durable(FailedPrecondition("txn log " + dir_ + " has segments: Replay it before appending"));
  if (zxid <= last_zxid_) {
    return durable(InvalidArgument("zxid 0x" + Hex16(zxid) + " is not greater than the last zxid 0x" +
                                   Hex16(last_zxid_) + " (zxids must be > 0 and strictly increasing)"));
  }
  if (payload.size() > options_.max_payload_bytes) {
    return durable(InvalidArgument("payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds max_payload_bytes " +
                                   std::to_string(options_.max_payload_bytes)));
  }
  char header[kRecordHeaderSize];
  EncodeRecordHeader(zxid, payload, header);
  const uint64_t size = kRecordHeaderSize + payload.size();

  if (!options_.sync_thread) {
    bool full;
    {
      std::lock_guard lk(mu_);
      full = !buf_.empty() && buf_.size() + size > options_.max_unsynced_bytes;
    }
    if (full) SyncPending();  // nobody else would
  }
  std::unique_lock lk(mu_);
  space_cv_.wait(lk, [&] {
    return buf_.empty() || buf_.size() + size <= options_.max_unsynced_bytes || !failed_.ok();
  });
  if (!failed_.ok()) {
    Status s = failed_;
    lk.unlock();
    return durable(std::move(s));
  }
  buf_.append(header, kRecordHeaderSize);
  buf_.append(payload);
  entries_.push_back({zxid, size, std::move(durable)});
  ++appended_seq_;
  ++stats_.appends;
  last_zxid_ = zxid;
  bool wake = sync_idle_;
  lk.unlock();
  if (wake) work_cv_.notify_one();
}

Status TxnLog::Sync() {
  SyncPending();
  std::unique_lock lk(mu_);
  const uint64_t target = appended_seq_;
  done_cv_.wait(lk, [&] { return done_seq_ >= target; });
  return failed_;
}

Status TxnLog::Close() {
  if (closed_) {
    std::lock_guard lk(mu_);
    return failed_;
  }
  closed_ = true;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  if (sync_thread_.joinable()) sync_thread_.join();
  SyncPending();
  active_alloc_ = std::max(active_alloc_, PrefillAttach(-1, 0));
  {
    std::lock_guard lk(fill_mu_);
    fill_stop_ = true;
  }
  fill_cv_.notify_all();
  if (fill_thread_.joinable()) fill_thread_.join();
  if (active_fd_.valid() && active_alloc_ > active_offset_) {
    // Leave no zero fill behind; harmless if it stays, but tidier.
    if (::ftruncate(active_fd_.get(), static_cast<off_t>(active_offset_)) == 0)
      (void)Fdatasync(active_fd_.get(), active_path_);
  }
  active_fd_.Reset();
  std::lock_guard lk(mu_);
  return failed_;
}

TxnLogStats TxnLog::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void TxnLog::SyncLoop() {
  std::string batch;
  std::vector<Pending> entries;
  while (true) {
    {
      std::unique_lock lk(mu_);
      sync_idle_ = true;
      work_cv_.wait(lk, [&] { return !entries_.empty() || stop_; });
      sync_idle_ = false;
      if (entries_.empty()) break;  // stop_ and nothing left
    }
    CommitBatch(batch, entries);
  }
}

void TxnLog::SyncPending() {
  if (options_.sync_thread) return;
  CommitBatch(caller_batch_, caller_entries_);
}

void TxnLog::CommitBatch(std::string& batch, std::vector<Pending>& entries) {
  std::unique_lock lk(mu_);
  if (entries_.empty()) return;
  batch.swap(buf_);
  entries.swap(entries_);
  Status status = failed_;
  lk.unlock();
  space_cv_.notify_all();

  if (status.ok()) status = WriteBatch(batch, entries);
  for (auto& e : entries) e.durable(status);

  lk.lock();
  if (!status.ok() && failed_.ok()) {
    failed_ = status;
    spdlog::error("txn log {}: {}; refusing further appends", dir_, status.ToString());
  }
  done_seq_ += entries.size();
  ++stats_.batches;
  stats_.bytes_written += status.ok() ? batch.size() : 0;
  stats_.max_batch_records = std::max<uint64_t>(stats_.max_batch_records, entries.size());
  lk.unlock();
  done_cv_.notify_all();
  space_cv_.notify_all();  // a failure releases a blocked producer
  batch.clear();
  entries.clear();
}

Status TxnLog::WriteAt(const char* data, uint64_t size) {
  const uint64_t end = active_offset_ + size;
  PrefillReserve(end);
  if (Status s = PwriteAll(active_fd_.get(), active_path_, data, size, active_offset_); !s.ok())
    return s;
  active_offset_ = end;
  active_alloc_ = std::max(active_alloc_, end);
  return Status::Ok();
}

// ------------------------------------------------------------- zero fill

uint64_t TxnLog::PrefillAttach(int fd, uint64_t offset) {
  if (options_.prefill_bytes == 0) return 0;
  std::unique_lock lk(fill_mu_);
  fill_idle_cv_.wait(lk, [&] { return fill_busy_from_ == kNotFilling; });
  const uint64_t reached = fill_fd_ >= 0 ? fill_done_ : 0;
  fill_fd_ = fd;
  fill_path_ = fd >= 0 ? active_path_ : std::string();
  fill_reserved_ = fill_done_ = offset;
  fill_failed_ = false;
  lk.unlock();
  fill_cv_.notify_all();
  return reached;
}

bool TxnLog::PrefillWanted() const {
  if (fill_fd_ < 0 || fill_failed_) return false;
  const uint64_t target = std::min(fill_reserved_ + options_.prefill_bytes, options_.segment_bytes);
  return FillFrom() < target;
}

void TxnLog::PrefillReserve(uint64_t end) {
  if (options_.prefill_bytes == 0) return;
  std::unique_lock lk(fill_mu_);
  // A chunk in progress above `end` is fine; one below must finish first
  // (rare: the log caught up with the fill).
  fill_idle_cv_.wait(lk, [&] { return fill_busy_from_ == kNotFilling || end <= fill_busy_from_; });
  fill_reserved_ = std::max(fill_reserved_, end);
  const bool wake = PrefillWanted() && fill_busy_from_ == kNotFilling;
  lk.unlock();
  if (wake) fill_cv_.notify_all();
}

void TxnLog::WaitForPrefill() {
  std::unique_lock lk(fill_mu_);
  fill_idle_cv_.wait(lk, [&] { return fill_stop_ || (fill_busy_from_ == kNotFilling && !PrefillWanted()); });
}

void TxnLog::PrefillLoop() {
  YieldToServing();
  const uint64_t kChunk = fill_chunk_;
  const std::vector<char> zeros(kChunk, 0);
  const auto chunk_time = std::chrono::nanoseconds(
      kChunk * 1'000'000'000ull / std::max<uint64_t>(options_.prefill_bytes_per_sec, 1));
  std::unique_lock lk(fill_mu_);
  while (true) {
    fill_cv_.wait(lk, [&] { return fill_stop_ || PrefillWanted(); });
    if (fill_stop_) break;
    const uint64_t from = FillFrom();
    const uint64_t to = std::min(from + kChunk, options_.segment_bytes);
    const int fd = fill_fd_;
    const std::string path = fill_path_;
    fill_busy_from_ = from;
    lk.unlock();

    const auto started = std::chrono::steady_clock::now();
    Status s = PwriteAll(fd, path, zeros.data(), to - from, from);
    // The fdatasync makes the allocation durable now, off the log's path.
    if (s.ok()) s = Fdatasync(fd, path);

    lk.lock();
    fill_busy_from_ = kNotFilling;
    if (s.ok()) {
      fill_done_ = to;
    } else if (!fill_failed_) {
      fill_failed_ = true;  // the log goes on with allocating writes
      spdlog::warn("txn log {}: zero fill stopped: {}", dir_, s.ToString());
    }
    fill_idle_cv_.notify_all();
    {
      std::lock_guard stats_lock(mu_);
      if (s.ok()) stats_.prefill_bytes += to - from;
    }
    // Paced, so the fill never takes the disk from the log's fdatasyncs.
    fill_cv_.wait_until(lk, started + chunk_time, [&] { return fill_stop_; });
  }
  fill_idle_cv_.notify_all();
}

Status TxnLog::SyncActive() {
  const auto start = std::chrono::steady_clock::now();
  Status s = Fdatasync(active_fd_.get(), active_path_);
  fsync_latency_.Record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
  std::lock_guard lk(mu_);
  ++stats_.fdatasyncs;
  return s;
}

Status TxnLog::StartSegment(int64_t first_zxid) {
  active_path_ = JoinPath(dir_, SegmentName(first_zxid));
  auto fd = OpenFile(active_path_, O_RDWR | O_CREAT | O_EXCL);
  if (!fd.ok()) return fd.status();
  active_fd_ = std::move(*fd);
  active_offset_ = 0;
  active_alloc_ = 0;
  active_records_ = 0;
  PrefillAttach(active_fd_.get(), 0);
  std::lock_guard lk(mu_);
  ++stats_.segments_created;
  return Status::Ok();
}

Status TxnLog::FinishSegment() {
  active_alloc_ = std::max(active_alloc_, PrefillAttach(-1, 0));
  if (active_alloc_ > active_offset_) {
    if (::ftruncate(active_fd_.get(), static_cast<off_t>(active_offset_)) != 0)
      return ErrnoStatus("ftruncate", active_path_, errno);
  }
  Status s = SyncActive();
  active_fd_.Reset();
  return s;
}

Status TxnLog::WriteBatch(const std::string& buf, const std::vector<Pending>& entries) {
  bool dir_dirty = false;
  uint64_t off = 0;
  size_t i = 0;
  while (i < entries.size()) {
    if (!active_fd_.valid()) {
      if (Status s = StartSegment(entries[i].zxid); !s.ok()) return s;
      char header[kSegmentHeaderSize];
      EncodeSegmentHeader(entries[i].zxid, header);
      if (Status s = WriteAt(header, kSegmentHeaderSize); !s.ok()) return s;
      dir_dirty = true;
    }
    const uint64_t start = off;
    size_t j = i;
    while (j < entries.size()) {
      const uint64_t size = entries[j].size;
      const bool segment_has_records = active_records_ + (j - i) > 0;
      if (segment_has_records && active_offset_ + (off - start) + size > options_.segment_bytes) break;
      off += size;
      ++j;
    }
    if (off > start) {
      if (Status s = WriteAt(buf.data() + start, off - start); !s.ok()) return s;
    }
    active_records_ += j - i;
    i = j;
    if (i < entries.size()) {
      if (Status s = FinishSegment(); !s.ok()) return s;
    }
  }
  Status s = SyncActive();
  if (!s.ok()) return s;
  if (dir_dirty) return FsyncDir(dir_);
  return Status::Ok();
}

namespace {

struct ValidSegment {
  SegmentInfo info;
  uint64_t valid_end = 0;
  uint64_t file_size = 0;
  uint64_t records = 0;
  int64_t first_zxid = 0;
  int64_t last_zxid = 0;
};

Status TruncateFile(const std::string& path, uint64_t size) {
  auto fd = OpenFile(path, O_RDWR);
  if (!fd.ok()) return fd.status();
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0)
    return ErrnoStatus("ftruncate", path, errno);
  return Fsync(fd->get(), path);
}

}  // namespace

Result<RecoveryReport> TxnLog::Replay(int64_t after_zxid, const ReplayFn& fn, RecoveryMode mode) {
  if (closed_) return FailedPrecondition("txn log " + dir_ + " is closed");
  if (Status s = Sync(); !s.ok()) return s;
  std::lock_guard replay_lock(replay_mu_);
  // No batch is in flight now and the producer (this thread) is here: the
  // active segment may be touched.
  PrefillAttach(-1, 0);
  active_fd_.Reset();
  ready_ = false;

  auto segs = ListSegments(dir_);
  if (!segs.ok()) return segs.status();

  RecoveryReport report;
  std::vector<ValidSegment> valid;
  bool dir_dirty = false;
  int64_t prev_zxid = 0;

  // Phase 1: check every segment, cut a torn tail, refuse or repair damage.
  for (size_t i = 0; i < segs->size(); ++i) {
    const SegmentInfo& seg = (*segs)[i];
    const bool last = i + 1 == segs->size();
    auto data = ReadWholeFile(seg.path);
    if (!data.ok()) return data.status();
    SegmentScan scan = ScanSegment(*data, seg.first_zxid, prev_zxid);

    // Where the damage is (if any) and whether it may be cut silently.
    bool damaged = false;
    bool torn = false;
    uint64_t bad_offset = 0;
    std::string problem;
    if (!scan.header_ok) {
      damaged = true;
      bad_offset = 0;
      problem = scan.header_problem;
      torn = last && !AnyValidRecordFrom(*data, 0);
    } else if (scan.damaged) {
      damaged = true;
      bad_offset = scan.bad_offset;
      problem = scan.problem;
      torn = last && scan.physical && !scan.valid_after;
    }

    if (damaged && !torn) {
      if (mode != RecoveryMode::kRepair) {
        std::string msg = "corrupt record in " + seg.path + " at offset " +
                          std::to_string(bad_offset) + " (" + problem + ")";
        if (!last) msg += "; " + std::to_string(segs->size() - i - 1) + " later segment(s) follow";
        else if (scan.valid_after) msg += "; valid records follow it";
        msg += "; start with --repair to truncate the log there";
        return Status(Code::kDataLoss, std::move(msg));
      }
      report.repaired = true;
    } else if (damaged) {
      report.torn_tail = true;
    }

    if (damaged) {
      report.problem = problem;
      report.truncated_path = seg.path;
      report.truncated_offset = bad_offset;
      const bool keep_file = scan.header_ok && scan.records > 0;
      if (keep_file) {
        if (Status s = TruncateFile(seg.path, bad_offset); !s.ok()) return s;
        report.dropped_bytes += data->size() - bad_offset;
      } else {
        if (Status s = RemoveFile(seg.path); !s.ok()) return s;
        report.dropped_bytes += data->size();
        report.removed_files.push_back(seg.path);
        dir_dirty = true;
      }
      for (size_t k = i + 1; k < segs->size(); ++k) {
        const std::string& path = (*segs)[k].path;
        std::error_code ec;
        auto size = std::filesystem::file_size(path, ec);
        if (!ec) report.dropped_bytes += size;
        if (Status s = RemoveFile(path); !s.ok()) return s;
        report.removed_files.push_back(path);
        dir_dirty = true;
      }
      spdlog::warn("txn log {}: {} in {} at offset {}: {} dropped {} bytes", dir_, problem,
                   seg.path, bad_offset, torn ? "torn tail," : "--repair:", report.dropped_bytes);
      if (keep_file) {
        valid.push_back({seg, bad_offset, bad_offset, scan.records, scan.first_zxid, scan.last_zxid});
      }
      break;
    }
    if (last && scan.records == 0) {
      // A header-only last segment: drop it so that the next append starts
      // a segment named for its own zxid.
      if (Status s = RemoveFile(seg.path); !s.ok()) return s;
      report.removed_files.push_back(seg.path);
      dir_dirty = true;
      break;
    }
    valid.push_back({seg, scan.valid_end, data->size(), scan.records, scan.first_zxid,
                     scan.last_zxid});
    if (scan.records > 0) prev_zxid = scan.last_zxid;
  }
  if (dir_dirty) {
    if (Status s = FsyncDir(dir_); !s.ok()) return s;
  }

  for (const auto& v : valid) {
    if (v.records == 0) continue;
    if (report.first_zxid == 0) report.first_zxid = v.first_zxid;
    report.last_zxid = v.last_zxid;
    report.records += v.records;
  }
  report.segments = valid.size();

  // Phase 2: hand the records after after_zxid to fn.
  for (size_t i = 0; i < valid.size(); ++i) {
    const ValidSegment& v = valid[i];
    if (v.records == 0 || v.last_zxid <= after_zxid) continue;
    auto data = ReadWholeFile(v.info.path);
    if (!data.ok()) return data.status();
    std::string_view view(*data);
    if (view.size() < v.valid_end) return Internal(v.info.path + " shrank during replay");
    view = view.substr(0, v.valid_end);
    uint64_t pos = kSegmentHeaderSize;
    while (pos < v.valid_end) {
      RecordView rec;
      if (CheckRecord(view, pos, &rec) != RecordCheck::kOk)
        return Internal(v.info.path + " changed during replay at offset " + std::to_string(pos));
      pos += rec.size;
      if (rec.zxid <= after_zxid) continue;
      if (Status s = fn(rec.zxid, rec.payload); !s.ok()) return s;
      ++report.replayed;
    }
  }

  // Ready to append after the last valid record.
  last_zxid_ = report.last_zxid;
  if (!valid.empty() && valid.back().records > 0) {
    const ValidSegment& v = valid.back();
    auto fd = OpenFile(v.info.path, O_RDWR);
    if (!fd.ok()) return fd.status();
    auto size = FileSize(fd->get(), v.info.path);
    if (!size.ok()) return size.status();
    active_fd_ = std::move(*fd);
    active_path_ = v.info.path;
    active_offset_ = v.valid_end;
    active_alloc_ = *size;
    active_records_ = v.records;
    // Any zero tail found may be fallocate()d space: filled again.
    PrefillAttach(active_fd_.get(), active_offset_);
  }
  ready_ = true;
  return report;
}

Status TxnLog::PurgeBefore(int64_t zxid) {
  std::lock_guard lk(replay_mu_);
  return PurgeLogBefore(dir_, zxid);
}

}  // namespace dougong::keeper::storage
