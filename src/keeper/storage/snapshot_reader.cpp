#include "keeper/storage/snapshot_reader.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "base/crc32c.h"

namespace dougong::keeper::storage {
namespace {

constexpr size_t kReadAhead = 1 << 20;

// Deletes snapshot.*.tmp files nobody holds locked.
void RemoveStaleTmp(const std::string& dir, std::vector<std::string>* removed) {
  auto names = ListDir(dir);
  if (!names.ok()) return;
  for (const auto& name : *names) {
    if (!IsSnapshotTmpName(name)) continue;
    std::string path = JoinPath(dir, name);
    auto fd = OpenFile(path, O_RDONLY);
    if (!fd.ok()) continue;
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) continue;  // a writer is busy with it
    if (RemoveFile(path).ok()) removed->push_back(path);
  }
}

}  // namespace

SnapshotReader::SnapshotReader(SnapshotOpenInfo info, UniqueFd fd, uint64_t body_end,
                               uint32_t body_crc)
    : info_(std::move(info)),
      fd_(std::move(fd)),
      body_end_(body_end),
      expected_crc_(body_crc),
      pos_(kSnapshotHeaderSize),
      buf_file_end_(kSnapshotHeaderSize) {}

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::Open(const SnapshotInfo& snapshot) {
  if (Status s = VerifySnapshot(snapshot, true); !s.ok()) return s;
  auto fd = OpenFile(snapshot.path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  auto size = FileSize(fd->get(), snapshot.path);
  if (!size.ok()) return size.status();
  char trailer[kSnapshotTrailerSize];
  auto n = PreadAll(fd->get(), snapshot.path, trailer, sizeof trailer, *size - kSnapshotTrailerSize);
  if (!n.ok()) return n.status();
  SnapshotOpenInfo info;
  info.snapshot = snapshot;
  info.snapshot.size = *size;
  return std::unique_ptr<SnapshotReader>(new SnapshotReader(
      std::move(info), std::move(*fd), *size - kSnapshotTrailerSize, GetU32(trailer + 8)));
}

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::OpenNewest(const std::string& dir) {
  std::vector<std::string> removed_tmp;
  RemoveStaleTmp(dir, &removed_tmp);
  auto list = ListSnapshots(dir);
  if (!list.ok()) return list.status();
  if (list->empty()) return NotFound("no snapshot in " + dir);
  std::vector<std::string> warnings;
  for (auto it = list->rbegin(); it != list->rend(); ++it) {
    auto reader = Open(*it);
    if (reader.ok()) {
      (*reader)->info_.warnings = std::move(warnings);
      (*reader)->info_.removed_tmp = std::move(removed_tmp);
      return reader;
    }
    spdlog::warn("skipping snapshot: {}", reader.status().message());
    warnings.push_back(reader.status().message());
  }
  std::string msg = "no valid snapshot in " + dir + ":";
  for (const auto& w : warnings) msg += " [" + w + "]";
  return Status(Code::kDataLoss, std::move(msg));
}

Status SnapshotReader::Read(char* out, size_t n) {
  while (n > 0) {
    if (buf_pos_ == buf_.size()) {
      const uint64_t left = body_end_ - buf_file_end_;
      if (left == 0) return Internal("snapshot read past its body");
      buf_.resize(static_cast<size_t>(std::min<uint64_t>(kReadAhead, left)));
      auto got = PreadAll(fd_.get(), info_.snapshot.path, buf_.data(), buf_.size(), buf_file_end_);
      if (!got.ok()) return got.status();
      if (*got != buf_.size())
        return Status(Code::kDataLoss, "snapshot " + info_.snapshot.path + " shrank while being read");
      buf_file_end_ += buf_.size();
      buf_pos_ = 0;
    }
    size_t take = std::min(n, buf_.size() - buf_pos_);
    std::memcpy(out, buf_.data() + buf_pos_, take);
    buf_pos_ += take;
    out += take;
    n -= take;
    pos_ += take;
  }
  return Status::Ok();
}

Result<bool> SnapshotReader::Next(std::string* chunk) {
  if (finished_) return false;
  if (pos_ == body_end_) {
    finished_ = true;
    if (crc_ != expected_crc_)
      return Status(Code::kDataLoss, "snapshot " + info_.snapshot.path + " changed while being read");
    return false;
  }
  auto damaged = [&](const std::string& why) {
    return Status(Code::kDataLoss, "snapshot " + info_.snapshot.path + ": " + why);
  };
  if (body_end_ - pos_ < 4) return damaged("chunk length cut off at offset " + std::to_string(pos_));
  char len_bytes[4];
  if (Status s = Read(len_bytes, 4); !s.ok()) return s;
  const uint32_t len = GetU32(len_bytes);
  if (len > body_end_ - pos_)
    return damaged("chunk of " + std::to_string(len) + " bytes overruns the body at offset " +
                   std::to_string(pos_ - 4));
  chunk->resize(len);
  if (Status s = Read(chunk->data(), len); !s.ok()) return s;
  crc_ = Crc32cExtend(crc_, len_bytes, 4);
  crc_ = Crc32cExtend(crc_, chunk->data(), len);
  return true;
}

}  // namespace dougong::keeper::storage
