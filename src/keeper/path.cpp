#include "keeper/path.h"

#include <cstdint>
#include <vector>

namespace dougong::keeper {
namespace {

// UTF-8 -> UTF-16 code units, with U+FFFD for each malformed sequence
// (close enough to Java's replacement behaviour for validation: any
// replacement is refused anyway, only the reported index may differ).
std::vector<uint16_t> ToUtf16(std::string_view s) {
  std::vector<uint16_t> out;
  out.reserve(s.size());
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned c = p[i];
    if (c < 0x80) {
      out.push_back(static_cast<uint16_t>(c));
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    bool ok = i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<uint16_t>(cp));
    }
    i += len;
  }
  return out;
}

}  // namespace

std::optional<std::string> ValidatePath(std::string_view path) {
  if (path.empty()) return std::string("Path length must be > 0");
  if (path[0] != '/') return std::string("Path must start with / character");
  if (path.size() == 1) return std::nullopt;
  if (path.back() == '/') return std::string("Path must not end with / character");

  std::vector<uint16_t> chars = ToUtf16(path);
  std::string reason;
  uint16_t lastc = '/';
  for (size_t i = 1; i < chars.size(); lastc = chars[i], ++i) {
    uint16_t c = chars[i];
    bool at_end = i + 1 == chars.size();
    if (c == 0) {
      reason = "null character not allowed @" + std::to_string(i);
      break;
    } else if (c == '/' && lastc == '/') {
      reason = "empty node name specified @" + std::to_string(i);
      break;
    } else if (c == '.' && lastc == '.') {
      if (chars[i - 2] == '/' && (at_end || chars[i + 1] == '/')) {
        reason = "relative paths not allowed @" + std::to_string(i);
        break;
      }
    } else if (c == '.') {
      if (chars[i - 1] == '/' && (at_end || chars[i + 1] == '/')) {
        reason = "relative paths not allowed @" + std::to_string(i);
        break;
      }
    } else if ((c > 0x0000 && c <= 0x001f) || (c >= 0x007f && c <= 0x009F) || (c >= 0xd800 && c <= 0xf8ff) ||
               (c >= 0xfff0)) {
      reason = "invalid character @" + std::to_string(i);
      break;
    }
  }
  if (reason.empty()) return std::nullopt;
  return "Invalid path string \"" + std::string(path) + "\" caused by " + reason;
}

std::string_view ParentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return path;
  return path.substr(slash + 1);
}

std::string JoinPath(std::string_view parent, std::string_view child) {
  std::string out;
  out.reserve(parent.size() + 1 + child.size());
  out.append(parent);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(child);
  return out;
}

}  // namespace dougong::keeper
