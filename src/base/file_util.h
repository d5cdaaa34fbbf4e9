// Small POSIX file helpers for the keeper's and Raft's storage: an owning fd, full
// reads and writes that retry short transfers and EINTR, fsync of a
// directory, and errno -> Status with the path in the message.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong {

// "open /data/log.0000000000000001: No such file or directory" as
// kNotFound, kInternal or kResourceExhausted (ENOSPC) depending on errno.
Status ErrnoStatus(std::string_view op, const std::string& path, int err);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();
  // Gives up ownership: the caller closes the returned fd.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// The calling thread yields the CPU (nice 19) and the disk (best-effort
// I/O class, lowest level; not idle: under a steady write load an idle-class
// writer may never get the disk) to the serving threads. For background
// work: snapshots, retention, the log's zero fill. Errors are ignored: the
// work only runs slower.
void YieldToServing();

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);
// Writes all of [data, data+size) at `offset` (pwrite, retrying short writes).
Status PwriteAll(int fd, const std::string& path, const void* data, size_t size, uint64_t offset);
// Writes all the iovecs at `offset` (pwritev, retrying short writes).
Status PwritevAll(int fd, const std::string& path, std::vector<iovec> iov, uint64_t offset);
// Reads up to `size` bytes at `offset`; fewer only at end of file.
Result<size_t> PreadAll(int fd, const std::string& path, void* data, size_t size, uint64_t offset);
Result<std::string> ReadWholeFile(const std::string& path);
Status Fdatasync(int fd, const std::string& path);
Status Fsync(int fd, const std::string& path);
// fsync of the directory itself, so that created, renamed and removed
// entries survive a crash.
Status FsyncDir(const std::string& dir);
Status CreateDirs(const std::string& dir);
// Regular file names (not paths) in `dir`.
Result<std::vector<std::string>> ListDir(const std::string& dir);
Status RemoveFile(const std::string& path);
// Removes a file, freeing its blocks at most `bytes_per_sec` (0: at once):
// unlinked first (so nothing sees it half gone), then truncated from the
// end step by step, sleeping in between. Deleting a 200 MB snapshot at
// once stalled the log's fdatasync by 60-80 ms on ext4 (the freed extents,
// and their discards, go through the journal at once); RocksDB paces its
// file deletions for the same reason. Blocks the calling thread.
Status RemoveFilePaced(const std::string& path, uint64_t bytes_per_sec);
Result<uint64_t> FileSize(int fd, const std::string& path);
std::string JoinPath(const std::string& dir, std::string_view name);

// 16 lower-case hex digits, as in "log.000000010000002a".
std::string Hex16(int64_t value);
// Parses "<prefix><16 hex digits><suffix>"; false if `name` is anything else.
bool ParseHex16Name(std::string_view name, std::string_view prefix, std::string_view suffix,
                    int64_t* value);

// Little-endian fixed-width integers, the byte order of every on-disk field.
inline void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace dougong
