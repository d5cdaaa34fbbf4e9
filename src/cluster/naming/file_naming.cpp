#include "cluster/naming/file_naming.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "cluster/naming/background_loop.h"
#include "cluster/naming/provider_codec.h"
#include "cluster/naming/text.h"
#include "cluster/naming/url.h"

namespace dougong::cluster::naming {

namespace {

std::vector<std::string_view> SplitWhitespace(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

Result<ListedProvider> ParseLine(std::string_view line) {
  std::vector<std::string_view> words = SplitWhitespace(line);
  ListedProvider out;
  out.provider.address = words[0];
  if (Status st = CheckHostPort(words[0]); !st.ok()) return st;
  for (size_t i = 1; i < words.size(); ++i) {
    std::string_view key, value;
    if (!SplitKeyValue(words[i], &key, &value)) {
      return InvalidArgument("'" + std::string(words[i]) + "' is not key=value");
    }
    if (key == "service") {
      out.service = value;
    } else if (Status st = SetProviderField(&out.provider, key, value); !st.ok()) {
      return st;
    }
  }
  return out;
}

// What identifies a version of the file. The inode catches an atomic
// rename even within the file system's timestamp granularity.
struct FileSignature {
  bool exists = false;
  int64_t mtime_ns = 0;
  int64_t size = 0;
  uint64_t inode = 0;
  bool operator==(const FileSignature&) const = default;
};

FileSignature SignatureOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

Result<std::vector<ListedProvider>> LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  Result<std::vector<ListedProvider>> list = ParseProviderFile(text.str());
  if (!list.ok()) return Status(list.status().code(), path + ": " + list.status().message());
  return list;
}

class FileNaming : public ListedNaming {
 public:
  FileNaming(std::string path, std::vector<ListedProvider> list, FileSignature signature)
      : path_(std::move(path)), signature_(signature) {
    SetList(std::move(list));
  }
  ~FileNaming() override { loop_.Stop(); }

  void Start(std::chrono::milliseconds interval) { loop_.Start(interval, [this] { Poll(); }); }

 private:
  void Poll() {
    FileSignature now = SignatureOf(path_);
    if (now == signature_) return;
    // Remembered even when the load fails, so a bad file is reported once,
    // not every interval, and reloaded when it changes again.
    signature_ = now;
    Result<std::vector<ListedProvider>> list = LoadFile(path_);
    if (!list.ok()) {
      spdlog::warn("naming: {}; keeping the last good provider list", list.status().message());
      return;
    }
    SetList(std::move(*list));
  }

  std::string path_;
  FileSignature signature_;  // loop thread only (after the constructor)
  BackgroundLoop loop_;
};

}  // namespace

Result<std::vector<ListedProvider>> ParseProviderFile(std::string_view text) {
  std::vector<ListedProvider> out;
  int line_no = 0;
  while (!text.empty()) {
    std::string_view line = TakeItem(&text, '\n');
    ++line_no;
    line = line.substr(0, line.find('#'));
    if (SplitWhitespace(line).empty()) continue;
    Result<ListedProvider> p = ParseLine(line);
    if (!p.ok()) {
      return InvalidArgument("line " + std::to_string(line_no) + ": " + p.status().message());
    }
    for (const ListedProvider& q : out) {
      bool overlap = q.service.empty() || p->service.empty() || q.service == p->service;
      if (overlap && q.provider.address == p->provider.address) {
        return InvalidArgument("line " + std::to_string(line_no) + ": " + q.provider.address +
                               " is listed twice for the same service");
      }
    }
    out.push_back(std::move(*p));
  }
  return out;
}

Result<std::shared_ptr<NamingService>> NewFileNaming(std::string path,
                                                     std::chrono::milliseconds interval) {
  if (path.empty()) return InvalidArgument("file://: no path (want file:///path/to/providers)");
  FileSignature signature = SignatureOf(path);
  Result<std::vector<ListedProvider>> list = LoadFile(path);
  if (!list.ok()) return Status(list.status().code(), "file://: " + list.status().message());
  auto naming = std::make_shared<FileNaming>(std::move(path), std::move(*list), signature);
  naming->Start(interval);
  return std::shared_ptr<NamingService>(std::move(naming));
}

}  // namespace dougong::cluster::naming
