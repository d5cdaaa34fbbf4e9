// Provider: one registry entry (an instance serving a service). ProviderSet:
// an immutable, shared snapshot of the providers a client may call, which a
// cluster channel swaps as a whole when the registry changes, so calls in
// flight keep the snapshot they started with and balancers need no lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/cluster/provider_stats.h"

namespace dougong::cluster {

struct Provider {
  std::string address;  // "host:port" or "[v6]:port"; unique within a set
  // Relative share of traffic. 0 takes no traffic unless every candidate is 0.
  int weight = 100;
  std::string zone;  // availability zone / data centre, for locality
  // The machine; ProviderSet::Create fills it from `address` when empty.
  std::string host;
  std::string version;
  std::string group;
  std::map<std::string, std::string> tags;
  // When the instance started (ms since the Unix epoch); 0: unknown, and an
  // unknown start gets its full weight at once (no warm-up).
  int64_t start_time_ms = 0;
  // The weight ramps up linearly over this period after the start (so a JIT-
  // or cache-cold instance is not flooded); <= 0 disables warm-up.
  int64_t warmup_ms = 10 * 60 * 1000;
};

class ProviderSet;
using ProviderSetPtr = std::shared_ptr<const ProviderSet>;

class ProviderSet {
 public:
  // Sorts the providers by address, so that two snapshots of the same
  // registry content are identical whatever order the registry listed them
  // in. Refuses empty or duplicate addresses and negative weights. Providers
  // whose address is also in `previous` keep its ProviderStats, so active
  // counts and latencies survive a registry update.
  static Result<ProviderSetPtr> Create(std::vector<Provider> providers,
                                       const ProviderSet* previous = nullptr);

  size_t size() const { return providers_.size(); }
  bool empty() const { return providers_.empty(); }
  const Provider& operator[](size_t i) const { return providers_[i]; }
  const std::vector<Provider>& providers() const { return providers_; }

  // The live statistics of provider i. The snapshot's membership is
  // immutable; its statistics are atomics updated by the calls.
  ProviderStats& stats(size_t i) const { return *stats_[i]; }

  // Index of the provider with this address, if any (binary search).
  std::optional<size_t> Find(std::string_view address) const;

  // A hash of the addresses in order: equal for snapshots with the same
  // membership, which is what balancers key their per-set state (rings,
  // round-robin counters) on, so that state is rebuilt only when it changes.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  ProviderSet() = default;

  std::vector<Provider> providers_;
  std::vector<std::shared_ptr<ProviderStats>> stats_;
  uint64_t fingerprint_ = 0;
};

// The host part of "host:port", "[v6]:port" or a bare host.
std::string_view HostOfAddress(std::string_view address);

}  // namespace dougong::cluster
