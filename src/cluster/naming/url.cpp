#include "cluster/naming/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "cluster/naming/text.h"

namespace dougong::cluster::naming {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Status ParseQuery(std::string_view text, std::map<std::string, std::string>* out) {
  while (!text.empty()) {
    std::string_view item = TakeItem(&text, '&');
    std::string_view key, value;
    if (item.empty()) continue;
    if (!SplitKeyValue(item, &key, &value)) {
      return InvalidArgument("bad query parameter '" + std::string(item) + "' (want key=value)");
    }
    (*out)[std::string(key)] = std::string(value);
  }
  return Status::Ok();
}

}  // namespace

Result<NamingUrl> ParseNamingUrl(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return InvalidArgument("naming URL '" + std::string(url) + "' has no scheme (want scheme://...)");
  }
  NamingUrl out;
  out.scheme = Lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    if (Status st = ParseQuery(rest.substr(q + 1), &out.query); !st.ok()) {
      return Status(st.code(), "naming URL '" + std::string(url) + "': " + st.message());
    }
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  out.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  return out;
}

Status CheckQueryKeys(const NamingUrl& url, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : url.query) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (std::string_view a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument(url.scheme + "://: unknown query parameter '" + key + "' (known: " +
                             (known.empty() ? "none" : known) + ")");
    }
  }
  return Status::Ok();
}

Result<int64_t> QueryPositiveInt(const NamingUrl& url, std::string_view key, int64_t fallback) {
  auto it = url.query.find(std::string(key));
  if (it == url.query.end()) return fallback;
  const std::string& text = it->second;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return InvalidArgument(url.scheme + "://: " + std::string(key) + "='" + text +
                           "' is not a positive integer");
  }
  return value;
}

Status CheckHostPort(std::string_view address) {
  size_t colon = address.rfind(':');
  std::string_view host = colon == std::string_view::npos ? address : address.substr(0, colon);
  if (colon == std::string_view::npos || host.empty() || host == "[]") {
    return InvalidArgument("'" + std::string(address) + "' is not host:port");
  }
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos) {
    return InvalidArgument("'" + std::string(address) + "': write IPv6 addresses as [addr]:port");
  }
  std::string_view port = address.substr(colon + 1);
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return InvalidArgument("'" + std::string(address) + "': port must be 1..65535");
  }
  return Status::Ok();
}

}  // namespace dougong::cluster::naming
