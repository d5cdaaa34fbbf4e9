#include "cluster/rules/config_cache.h"

#include <charconv>
#include <filesystem>

#include "base/atomic_write.h"
#include "base/file_util.h"
#include "dougong/cluster/config_center.h"

namespace dougong::cluster::rules {
namespace {

constexpr std::string_view kHeader = "dougong-config-cache 1\n";

}  // namespace

std::string EncodeConfigCache(const ConfigValues& values) {
  std::string out(kHeader);
  for (const auto& [key, value] : values) {
    out += key;
    out += ' ';
    out += std::to_string(value.size());
    out += '\n';
    out += value;
    out += '\n';
  }
  return out;
}

Result<ConfigValues> DecodeConfigCache(std::string_view text) {
  if (!text.starts_with(kHeader)) return Status(Code::kDataLoss, "config cache: not a dougong-config-cache 1 file");
  text.remove_prefix(kHeader.size());
  ConfigValues values;
  for (size_t entry = 1; !text.empty(); ++entry) {
    auto bad = [&](std::string_view why) -> Status {
      return Status(Code::kDataLoss, "config cache: entry " + std::to_string(entry) + ": " + std::string(why));
    };
    size_t eol = text.find('\n');
    if (eol == std::string_view::npos) return bad("truncated header line");
    std::string_view line = text.substr(0, eol);
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return bad("no length");
    std::string_view key = line.substr(0, space);
    std::string_view length_text = line.substr(space + 1);
    size_t length = 0;
    auto [end, ec] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (ec != std::errc() || end != length_text.data() + length_text.size()) return bad("bad length");
    if (!CheckConfigKey(key).ok()) return bad("bad key");
    text.remove_prefix(eol + 1);
    if (text.size() < length + 1 || text[length] != '\n') return bad("truncated value of " + std::string(key));
    values.emplace(std::string(key), std::string(text.substr(0, length)));
    text.remove_prefix(length + 1);
  }
  return values;
}

Result<ConfigValues> LoadConfigCache(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return ConfigValues{};
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  Result<ConfigValues> values = DecodeConfigCache(*text);
  if (!values.ok()) return Status(Code::kDataLoss, path + ": " + values.status().message());
  return values;
}

Status SaveConfigCache(const std::string& path, const ConfigValues& values) {
  return WriteFileAtomically(path, EncodeConfigCache(values));
}

}  // namespace dougong::cluster::rules
