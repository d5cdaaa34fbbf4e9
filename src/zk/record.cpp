#include "zk/record.h"

namespace dougong::zk::jute::internal {

Status Locate(const Status& error, std::string_view where) {
  const std::string& m = error.message();
  // Nested locations join without a separator ("acl" + "[0]" + ".id").
  bool nested = !m.empty() && (m[0] == '.' || m[0] == '[');
  return Status(error.code(), std::string(where) + (nested ? "" : ": ") + m);
}

namespace {

constexpr size_t kMaxPrinted = 64;  // long values are cut: this is for logs

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

void AppendHex(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("0x");
  for (unsigned char c : s.substr(0, kMaxPrinted)) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

void AppendCut(std::string* out, std::string_view s) {
  if (s.size() > kMaxPrinted) out->append("...(" + std::to_string(s.size()) + " bytes)");
}

}  // namespace

void AppendQuoted(std::string* out, std::string_view s) {
  if (!Printable(s)) {
    AppendHex(out, s);
    AppendCut(out, s);
    return;
  }
  out->push_back('"');
  for (char c : s.substr(0, kMaxPrinted)) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
  AppendCut(out, s);
}

void AppendBuffer(std::string* out, const Buffer& b) {
  if (b.is_null) {
    out->append("null");
  } else {
    AppendQuoted(out, b.bytes);
  }
}

}  // namespace dougong::zk::jute::internal
