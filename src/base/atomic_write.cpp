#include "base/atomic_write.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "base/file_util.h"

namespace dougong {

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  auto fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.ok()) return fd.status();
  if (Status s = PwriteAll(fd->get(), tmp, data.data(), data.size(), 0); !s.ok()) return s;
  if (Status s = Fsync(fd->get(), tmp); !s.ok()) return s;
  fd->Reset();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", tmp, errno);
  std::string dir = std::filesystem::path(path).parent_path().string();
  return FsyncDir(dir.empty() ? "." : dir);
}

}  // namespace dougong
