// The datagrams of multicast:// (docs/registry.md, "Multicast datagrams"):
// text, one "key=value" field a line like the ZooKeeper node data, after a
// first line naming the format version and the kind:
//
//   DOUGONG-MCAST/1 ANNOUNCE     a provider is there, for ttl_ms
//   DOUGONG-MCAST/1 GOODBYE      a provider deregistered
//   DOUGONG-MCAST/1 QUERY        a consumer started: announce now
//
// Decoding reads bytes from the network: anything malformed, too long or of
// another version is refused with INVALID_ARGUMENT, never trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/cluster/naming.h"

namespace dougong::cluster::naming {

inline constexpr int kMulticastVersion = 1;
// Fits one Ethernet-sized datagram after fragmentation is ruled out by
// nobody; big enough for a provider with dozens of tags and methods.
inline constexpr size_t kMaxDatagramSize = 8192;
// A ttl_ms beyond this is refused (a typo must not pin a provider for ever).
inline constexpr int64_t kMaxDatagramTtlMs = 24 * 3600 * 1000;

enum class DatagramKind { kAnnounce, kGoodbye, kQuery };

struct Datagram {
  DatagramKind kind = DatagramKind::kAnnounce;
  uint64_t instance = 0;  // the sender: random per Registry / NamingService
  uint64_t seq = 0;       // per sender, grows with every datagram it sends
  // ANNOUNCE: the whole registration. GOODBYE: service and provider.address.
  ProviderRegistration registration;
  int64_t ttl_ms = 0;  // ANNOUNCE: forget the provider after this long unheard
  // QUERY: the services asked for; empty asks for all.
  std::vector<std::string> services;
};

// INVALID_ARGUMENT when the result would exceed kMaxDatagramSize.
Result<std::string> EncodeDatagram(const Datagram& d);
Result<Datagram> DecodeDatagram(std::string_view bytes);

}  // namespace dougong::cluster::naming
