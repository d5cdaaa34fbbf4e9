#include "keeper/storage/snapshot_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <cstdio>

#include "base/crc32c.h"

namespace dougong::keeper::storage {
namespace {

constexpr size_t kFlushBytes = 1 << 20;
// Written bytes are pushed to the disk in windows of this size, and the
// writer waits for the window before the last: at most two windows are
// dirty or in flight at any time. Without it the final fsync writes the
// whole file at once, and the log's fdatasyncs, which share the disk (and
// on ext4 the journal), waited 100-200 ms behind it (bench/compare_zk.sh,
// snapshot stall).
constexpr uint64_t kWritebackWindow = 1 << 20;

std::string UniqueTmpName() {
  static std::atomic<uint64_t> counter{0};
  char name[96];
  std::snprintf(name, sizeof name, "snapshot.%d-%llu.tmp", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1) + 1));
  return name;
}

}  // namespace

Result<std::unique_ptr<SnapshotWriter>> SnapshotWriter::Create(const std::string& dir) {
  if (Status s = CreateDirs(dir); !s.ok()) return s;
  std::string path = JoinPath(dir, UniqueTmpName());
  auto fd = OpenFile(path, O_RDWR | O_CREAT | O_EXCL);
  if (!fd.ok()) return fd.status();
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    Status s = ErrnoStatus("flock", path, errno);
    (void)RemoveFile(path);
    return s;
  }
  std::unique_ptr<SnapshotWriter> w(new SnapshotWriter(dir, std::move(path), std::move(*fd)));
  // Placeholder header; Finish writes the real one with the zxid.
  w->buf_.assign(kSnapshotHeaderSize, '\0');
  return w;
}

SnapshotWriter::SnapshotWriter(std::string dir, std::string tmp_path, UniqueFd fd)
    : dir_(std::move(dir)), tmp_path_(std::move(tmp_path)), fd_(std::move(fd)) {}

SnapshotWriter::~SnapshotWriter() {
  if (!done_) Abandon();
}

void SnapshotWriter::Abandon() {
  if (done_) return;
  done_ = true;
  fd_.Reset();
  (void)RemoveFile(tmp_path_);
  if (failed_.ok()) failed_ = FailedPrecondition("snapshot " + tmp_path_ + " was abandoned");
}

Status SnapshotWriter::Flush() {
  if (buf_.empty()) return Status::Ok();
  Status s = PwriteAll(fd_.get(), tmp_path_, buf_.data(), buf_.size(), file_offset_);
  if (!s.ok()) return s;
  file_offset_ += buf_.size();
  buf_.clear();
  return WriteBack();
}

Status SnapshotWriter::WriteBack() {
  while (file_offset_ - writeback_offset_ >= kWritebackWindow) {
    // Wait for the previous window, then start this one. (Only a hint to
    // the kernel: EINVAL/ENOSYS on odd file systems just skip it, and
    // Finish's fsync stays the durability point.)
    if (writeback_offset_ >= kWritebackWindow) {
      (void)::sync_file_range(fd_.get(), static_cast<off_t>(writeback_offset_ - kWritebackWindow),
                              static_cast<off_t>(kWritebackWindow),
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    (void)::sync_file_range(fd_.get(), static_cast<off_t>(writeback_offset_), static_cast<off_t>(kWritebackWindow),
                            SYNC_FILE_RANGE_WRITE);
    writeback_offset_ += kWritebackWindow;
    if (rate_limit_ > 0) {
      auto due = started_ + std::chrono::microseconds(writeback_offset_ * 1'000'000 / rate_limit_);
      std::this_thread::sleep_until(due);
    }
  }
  return Status::Ok();
}

Status SnapshotWriter::Append(std::string_view chunk) {
  if (!failed_.ok()) return failed_;
  if (done_) return FailedPrecondition("snapshot " + tmp_path_ + " is finished");
  if (chunk.size() > UINT32_MAX) return InvalidArgument("snapshot chunk larger than 4 GiB");
  char len[4];
  PutU32(len, static_cast<uint32_t>(chunk.size()));
  body_crc_ = Crc32cExtend(body_crc_, len, 4);
  body_crc_ = Crc32cExtend(body_crc_, chunk.data(), chunk.size());
  body_size_ += 4 + chunk.size();
  buf_.append(len, 4);
  if (chunk.size() >= kFlushBytes) {
    // Big chunk: write it directly rather than copying it into buf_.
    if (Status s = Flush(); !s.ok()) return failed_ = s;
    if (Status s = PwriteAll(fd_.get(), tmp_path_, chunk.data(), chunk.size(), file_offset_);
        !s.ok())
      return failed_ = s;
    file_offset_ += chunk.size();
    return WriteBack();
  }
  buf_.append(chunk);
  if (buf_.size() >= kFlushBytes) {
    if (Status s = Flush(); !s.ok()) return failed_ = s;
  }
  return Status::Ok();
}

Result<SnapshotInfo> SnapshotWriter::Finish(int64_t last_zxid) {
  if (!failed_.ok()) return failed_;
  if (done_) return FailedPrecondition("snapshot " + tmp_path_ + " is finished");
  if (last_zxid <= 0) return InvalidArgument("snapshot zxid must be > 0");
  char trailer[kSnapshotTrailerSize];
  EncodeSnapshotTrailer(body_size_, body_crc_, trailer);
  buf_.append(trailer, kSnapshotTrailerSize);
  Status s = Flush();
  char header[kSnapshotHeaderSize];
  EncodeSnapshotHeader(last_zxid, header);
  if (s.ok()) s = PwriteAll(fd_.get(), tmp_path_, header, kSnapshotHeaderSize, 0);
  if (s.ok()) s = Fsync(fd_.get(), tmp_path_);
  SnapshotInfo info{JoinPath(dir_, SnapshotName(last_zxid)), last_zxid, file_offset_};
  if (s.ok() && ::rename(tmp_path_.c_str(), info.path.c_str()) != 0)
    s = ErrnoStatus("rename " + tmp_path_ + " to", info.path, errno);
  if (!s.ok()) {
    failed_ = s;
    Abandon();
    return s;
  }
  done_ = true;
  fd_.Reset();
  if (Status d = FsyncDir(dir_); !d.ok()) return d;
  return info;
}

}  // namespace dougong::keeper::storage
