// The client's connect string "h1:p1,h2:p2[/chroot]" and chroot paths.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"

namespace dougong::zk::client {

struct HostPort {
  std::string host;  // name or address, IPv6 without brackets
  uint16_t port = 2181;
  std::string ToString() const;  // "host:port", "[::1]:port"
  bool operator==(const HostPort&) const = default;
};

struct ConnectString {
  std::vector<HostPort> hosts;
  std::string chroot;  // "" or "/app" (never a trailing '/')
};

// "host[:port][,host[:port]...][/chroot]"; IPv6 as "[addr]:port". The
// default port is 2181. Errors are INVALID_ARGUMENT naming the bad part.
Result<ConnectString> ParseConnectString(std::string_view s);

// Client-side path check (PathUtils.validatePath): absolute, no empty,
// "." or ".." components, no trailing '/' (allowed when `sequential`: the
// server appends the counter), no NUL.
Status ValidatePath(std::string_view path, bool sequential = false);

// "/x" under chroot "/app" → "/app/x"; "/" → "/app".
std::string AddChroot(const std::string& chroot, std::string_view path);
// The inverse for paths coming back; a path outside the chroot is kept.
std::string StripChroot(const std::string& chroot, std::string_view server_path);

}  // namespace dougong::zk::client
