// The ketama ring of the consistent-hash balancer. Each provider owns
// `virtual_nodes` points on a 64-bit circle, placed by hashing its address
// alone, so a provider's points do not depend on who else is in the set: a
// provider leaving only frees its own arcs (its keys move to the next point
// clockwise) and one joining only takes arcs from others (about 1/N of the
// keys). A key belongs to the first point at or after its own hash.
//
// Ketama hashes "address-i" with MD5 and cuts each digest into four 32-bit
// points; we use our own 64-bit hash (base/hash.h) seeded with i, one point
// per hash. That is faster, needs no OpenSSL, and 64-bit points make
// collisions negligible; rings are not byte-compatible with ketama's, which
// nothing needs since each client builds its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "dougong/cluster/provider.h"
#include "dougong/cluster/select_context.h"

namespace dougong::cluster {

class HashRing {
 public:
  HashRing(const ProviderSet& providers, int virtual_nodes);

  // The membership this ring was built for (ProviderSet::fingerprint).
  uint64_t fingerprint() const { return fingerprint_; }

  // Where a request key falls on the circle.
  static uint64_t KeyPoint(std::string_view key);

  // The provider owning `point`: the first point at or after it, skipping
  // excluded providers (so a retry goes where the key would go if the tried
  // provider left). nullopt when the ring is empty or all are excluded.
  std::optional<size_t> Lookup(uint64_t point, const SelectContext& ctx) const;

  // The fraction of the circle each provider owns (sums to 1).
  std::vector<double> Shares(size_t num_providers) const;

 private:
  struct Point {
    uint64_t hash;
    uint32_t provider;
  };
  std::vector<Point> points_;  // sorted by hash, then provider
  uint64_t fingerprint_;
};

}  // namespace dougong::cluster
