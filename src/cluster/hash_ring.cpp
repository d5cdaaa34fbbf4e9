#include "cluster/hash_ring.h"

#include <algorithm>

#include "base/hash.h"

namespace dougong::cluster {
namespace {

// Keys and points use different seeds so that a key equal to an address is
// not pinned to that address's first point.
constexpr uint64_t kKeySeed = 0x6b65746b6579ULL;  // "ketkey"

}  // namespace

HashRing::HashRing(const ProviderSet& providers, int virtual_nodes)
    : fingerprint_(providers.fingerprint()) {
  const int per_provider = std::max(virtual_nodes, 1);
  points_.reserve(providers.size() * per_provider);
  for (size_t i = 0; i < providers.size(); ++i) {
    for (int v = 0; v < per_provider; ++v) {
      points_.push_back({HashBytes(providers[i].address, static_cast<uint64_t>(v)),
                         static_cast<uint32_t>(i)});
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.provider < b.provider;
  });
}

uint64_t HashRing::KeyPoint(std::string_view key) { return HashBytes(key, kKeySeed); }

std::optional<size_t> HashRing::Lookup(uint64_t point, const SelectContext& ctx) const {
  if (points_.empty()) return std::nullopt;
  auto it = std::lower_bound(points_.begin(), points_.end(), point,
                             [](const Point& p, uint64_t h) { return p.hash < h; });
  size_t at = static_cast<size_t>(it - points_.begin());
  for (size_t step = 0; step < points_.size(); ++step) {
    const Point& p = points_[(at + step) % points_.size()];
    if (!ctx.IsExcluded(p.provider)) return p.provider;
  }
  return std::nullopt;
}

std::vector<double> HashRing::Shares(size_t num_providers) const {
  std::vector<double> shares(num_providers, 0.0);
  if (points_.empty()) return shares;
  // Point k owns the arc (point k-1, point k]; the first one also owns the
  // wrap-around from the last point.
  constexpr double kCircle = 18446744073709551616.0;  // 2^64
  uint64_t previous = points_.back().hash;
  for (const Point& p : points_) {
    shares[p.provider] += static_cast<double>(p.hash - previous) / kCircle;  // mod 2^64
    previous = p.hash;
  }
  if (points_.size() == 1) shares[points_[0].provider] = 1.0;
  return shares;
}

}  // namespace dougong::cluster
