#include "zk/client_connect_string.h"

#include <charconv>

#include <fmt/format.h>

namespace dougong::zk::client {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

namespace {

Result<HostPort> ParseHost(std::string_view s, std::string_view whole) {
  HostPort hp;
  std::string_view port;
  if (s.empty()) return InvalidArgument(fmt::format("connect string '{}': empty host", whole));
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument(fmt::format("connect string '{}': unterminated '[' in '{}'", whole, s));
    hp.host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return InvalidArgument(fmt::format("connect string '{}': junk after ']' in '{}'", whole, s));
      port = rest.substr(1);
      if (port.empty()) return InvalidArgument(fmt::format("connect string '{}': empty port in '{}'", whole, s));
    }
  } else {
    auto colon = s.rfind(':');
    if (colon != std::string_view::npos) {
      if (s.find(':') != colon)
        return InvalidArgument(
            fmt::format("connect string '{}': '{}' has several ':' (write IPv6 addresses as [addr]:port)", whole, s));
      hp.host = std::string(s.substr(0, colon));
      port = s.substr(colon + 1);
      if (port.empty()) return InvalidArgument(fmt::format("connect string '{}': empty port in '{}'", whole, s));
    } else {
      hp.host = std::string(s);
    }
  }
  if (hp.host.empty()) return InvalidArgument(fmt::format("connect string '{}': empty host in '{}'", whole, s));
  for (char c : hp.host) {
    if (c == ' ' || c == '/' || c == '\t')
      return InvalidArgument(fmt::format("connect string '{}': bad host '{}'", whole, hp.host));
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return InvalidArgument(fmt::format("connect string '{}': bad port '{}' (1..65535)", whole, port));
    hp.port = static_cast<uint16_t>(value);
  }
  return hp;
}

}  // namespace

Result<ConnectString> ParseConnectString(std::string_view s) {
  ConnectString cs;
  if (s.empty()) return InvalidArgument("empty connect string (expected host:port[,host:port...][/chroot])");
  std::string_view hosts = s;
  auto slash = s.find('/');
  if (slash != std::string_view::npos) {
    hosts = s.substr(0, slash);
    std::string_view chroot = s.substr(slash);
    if (chroot != "/") {
      if (Status st = ValidatePath(chroot); !st.ok())
        return InvalidArgument(fmt::format("connect string '{}': bad chroot: {}", s, st.message()));
      cs.chroot = std::string(chroot);
    }
  }
  size_t pos = 0;
  while (pos <= hosts.size()) {
    auto comma = hosts.find(',', pos);
    std::string_view one = hosts.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    // Trim spaces around entries ("h1:1, h2:2").
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    auto hp = ParseHost(one, s);
    if (!hp.ok()) return hp.status();
    cs.hosts.push_back(std::move(*hp));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return cs;
}

Status ValidatePath(std::string_view path, bool sequential) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("invalid path '{}': {}", path, why));
  };
  if (path.empty()) return bad("empty");
  if (path.front() != '/') return bad("must start with '/'");
  if (path.size() == 1) return Status::Ok();
  if (path.back() == '/' && !sequential) return bad("must not end with '/'");
  size_t start = 1;
  while (start <= path.size()) {
    auto next = path.find('/', start);
    std::string_view part = path.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    bool last = next == std::string_view::npos;
    if (part.empty() && !(last && sequential)) return bad("empty node name");
    if (part == "." || part == "..") return bad("relative paths are not allowed");
    if (last) break;
    start = next + 1;
  }
  if (path.find('\0') != std::string_view::npos) return bad("contains NUL");
  return Status::Ok();
}

std::string AddChroot(const std::string& chroot, std::string_view path) {
  if (chroot.empty()) return std::string(path);
  if (path == "/") return chroot;
  return chroot + std::string(path);
}

std::string StripChroot(const std::string& chroot, std::string_view server_path) {
  if (chroot.empty()) return std::string(server_path);
  if (server_path == chroot) return "/";
  if (server_path.size() > chroot.size() && server_path.substr(0, chroot.size()) == chroot &&
      server_path[chroot.size()] == '/')
    return std::string(server_path.substr(chroot.size()));
  return std::string(server_path);
}

}  // namespace dougong::zk::client
