// Helpers shared by the storage tests (keeper_storage_test,
// raft_storage_test): a temp dir under /tmp (real disk, real fdatasync)
// removed afterwards, and whole-file reads and writes.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "base/file_util.h"

namespace dougong::test_util {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dougong-storage-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "/tmp/dougong-storage-fallback";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(std::string_view name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  auto r = ReadWholeFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

inline void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

}  // namespace dougong::test_util
