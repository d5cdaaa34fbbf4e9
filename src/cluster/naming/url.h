// The URL of a naming service: scheme://authority/path?key=value&... Only
// what the schemes need: no user info, no fragments, no percent-decoding of
// the authority (host lists and addresses never need it).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::cluster::naming {

struct NamingUrl {
  std::string scheme;     // lower case: "zk", "list", "file", "dns"
  std::string authority;  // up to the first '/' or '?' after "://"
  std::string path;       // from that '/', without the query; may be empty
  std::map<std::string, std::string> query;
};

Result<NamingUrl> ParseNamingUrl(std::string_view url);

// Refuses query keys outside `allowed`, so a typo ("interval=5") is an error
// rather than a silently ignored setting.
Status CheckQueryKeys(const NamingUrl& url, std::initializer_list<std::string_view> allowed);

// Query parameter `key` as a positive integer (milliseconds, counts);
// `fallback` when absent.
Result<int64_t> QueryPositiveInt(const NamingUrl& url, std::string_view key, int64_t fallback);

// "host:port" or "[v6]:port" with a port in 1..65535; the error names it.
Status CheckHostPort(std::string_view address);

}  // namespace dougong::cluster::naming
