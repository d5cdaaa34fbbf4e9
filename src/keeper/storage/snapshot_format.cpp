#include "keeper/storage/snapshot_format.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/crc32c.h"
#include "base/file_util.h"

namespace dougong::keeper::storage {

std::string SnapshotName(int64_t zxid) { return std::string(kSnapshotPrefix) + Hex16(zxid); }

bool ParseSnapshotName(std::string_view name, int64_t* zxid) {
  return ParseHex16Name(name, kSnapshotPrefix, "", zxid);
}

bool IsSnapshotTmpName(std::string_view name) {
  return name.size() > kSnapshotPrefix.size() + kSnapshotTmpSuffix.size() &&
         name.substr(0, kSnapshotPrefix.size()) == kSnapshotPrefix &&
         name.substr(name.size() - kSnapshotTmpSuffix.size()) == kSnapshotTmpSuffix;
}

void EncodeSnapshotHeader(int64_t zxid, char out[kSnapshotHeaderSize]) {
  std::memset(out, 0, kSnapshotHeaderSize);
  std::memcpy(out, kSnapshotMagic.data(), kSnapshotMagic.size());
  out[6] = static_cast<char>(kSnapshotVersion);
  PutU64(out + 8, static_cast<uint64_t>(zxid));
  PutU32(out + 16, Crc32c(out, 16));
}

void EncodeSnapshotTrailer(uint64_t body_size, uint32_t body_crc, char out[kSnapshotTrailerSize]) {
  PutU64(out, body_size);
  PutU32(out + 8, body_crc);
  std::memcpy(out + 12, kSnapshotTrailerMagic.data(), kSnapshotTrailerMagic.size());
}

Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& dir) {
  auto names = ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<SnapshotInfo> out;
  for (const auto& name : *names) {
    int64_t zxid;
    if (!ParseSnapshotName(name, &zxid)) continue;
    SnapshotInfo info{JoinPath(dir, name), zxid, 0};
    std::error_code ec;
    info.size = std::filesystem::file_size(info.path, ec);
    if (ec) continue;  // vanished meanwhile
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.zxid < b.zxid; });
  return out;
}

Status VerifySnapshot(const SnapshotInfo& snapshot, bool check_body) {
  const std::string& path = snapshot.path;
  auto damaged = [&](const std::string& why) {
    return Status(Code::kDataLoss, "snapshot " + path + " is damaged: " + why);
  };
  auto fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  auto size = FileSize(fd->get(), path);
  if (!size.ok()) return size.status();
  if (*size < kSnapshotHeaderSize + kSnapshotTrailerSize)
    return damaged("truncated (" + std::to_string(*size) + " bytes)");
  char header[kSnapshotHeaderSize];
  auto n = PreadAll(fd->get(), path, header, sizeof header, 0);
  if (!n.ok()) return n.status();
  char expect[kSnapshotHeaderSize];
  EncodeSnapshotHeader(snapshot.zxid, expect);
  if (std::memcmp(header, expect, 8) != 0) return damaged("bad magic or version");
  if (GetU32(header + 16) != Crc32c(header, 16)) return damaged("header checksum mismatch");
  if (std::memcmp(header, expect, kSnapshotHeaderSize) != 0)
    return damaged("header zxid does not match the file name");
  char trailer[kSnapshotTrailerSize];
  n = PreadAll(fd->get(), path, trailer, sizeof trailer, *size - kSnapshotTrailerSize);
  if (!n.ok()) return n.status();
  if (std::memcmp(trailer + 12, kSnapshotTrailerMagic.data(), 4) != 0)
    return damaged("no trailer (truncated?)");
  const uint64_t body_size = GetU64(trailer);
  if (body_size != *size - kSnapshotHeaderSize - kSnapshotTrailerSize)
    return damaged("trailer says " + std::to_string(body_size) + " body bytes, file has " +
                   std::to_string(*size - kSnapshotHeaderSize - kSnapshotTrailerSize));
  if (!check_body) return Status::Ok();
  std::string buf(1 << 20, '\0');
  uint32_t crc = 0;
  uint64_t pos = kSnapshotHeaderSize;
  const uint64_t end = kSnapshotHeaderSize + body_size;
  while (pos < end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - pos));
    n = PreadAll(fd->get(), path, buf.data(), want, pos);
    if (!n.ok()) return n.status();
    if (*n != want) return damaged("shrank while being read");
    crc = Crc32cExtend(crc, buf.data(), want);
    pos += want;
  }
  if (crc != GetU32(trailer + 8)) return damaged("body checksum mismatch");
  return Status::Ok();
}

}  // namespace dougong::keeper::storage
