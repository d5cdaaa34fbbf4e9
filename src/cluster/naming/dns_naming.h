// dns://NAME:PORT (A/AAAA through getaddrinfo) and dns://_SERVICE._PROTO.NAME
// (SRV through libresolv), re-resolved every interval_ms (default 5000). A
// failed or empty answer keeps the last good list.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/cluster/naming.h"

namespace dougong::cluster::naming {

struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // without the trailing dot
};

// The SRV records of a DNS answer (wire format, as res_query returns it).
Result<std::vector<SrvRecord>> ParseSrvAnswer(const unsigned char* message, int length);

// The providers an SRV answer names: the records of the lowest priority
// (the others are backups the resolver would only use when these fail),
// address "target:port", weight the SRV weight (0 becomes 1: RFC 2782 gives
// weight 0 a small chance, while a Provider weight of 0 would take none).
std::vector<Provider> ProvidersFromSrv(const std::vector<SrvRecord>& records);

// `authority` is "name:port" (A/AAAA) or "_service._proto.name" (SRV). The
// first resolution runs before this returns; if it fails the service still
// starts (the name may appear later) and subscribers wait for a good answer.
Result<std::shared_ptr<NamingService>> NewDnsNaming(std::string_view authority,
                                                    std::chrono::milliseconds interval);

}  // namespace dougong::cluster::naming
