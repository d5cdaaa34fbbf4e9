#include "dougong/cluster/provider.h"

#include <algorithm>
#include <utility>

#include "base/hash.h"

namespace dougong::cluster {

std::string_view HostOfAddress(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    return close == std::string_view::npos ? address : address.substr(1, close - 1);
  }
  size_t colon = address.find(':');
  // More than one colon and no brackets: a bare IPv6 address, no port.
  if (colon == std::string_view::npos || address.find(':', colon + 1) != std::string_view::npos) {
    return address;
  }
  return address.substr(0, colon);
}

Result<ProviderSetPtr> ProviderSet::Create(std::vector<Provider> providers,
                                           const ProviderSet* previous) {
  std::sort(providers.begin(), providers.end(),
            [](const Provider& a, const Provider& b) { return a.address < b.address; });
  for (size_t i = 0; i < providers.size(); ++i) {
    const Provider& p = providers[i];
    if (p.address.empty()) return InvalidArgument("provider with an empty address");
    if (i > 0 && providers[i - 1].address == p.address) {
      return InvalidArgument("duplicate provider address " + p.address);
    }
    if (p.weight < 0) {
      return InvalidArgument("provider " + p.address + ": negative weight " +
                             std::to_string(p.weight));
    }
  }

  std::shared_ptr<ProviderSet> set(new ProviderSet());
  set->stats_.reserve(providers.size());
  uint64_t fingerprint = providers.size();
  for (Provider& p : providers) {
    if (p.host.empty()) p.host = std::string(HostOfAddress(p.address));
    std::optional<size_t> old = previous != nullptr ? previous->Find(p.address) : std::nullopt;
    set->stats_.push_back(old ? previous->stats_[*old] : std::make_shared<ProviderStats>());
    fingerprint = HashBytes(p.address, fingerprint);
  }
  set->providers_ = std::move(providers);
  set->fingerprint_ = fingerprint;
  return ProviderSetPtr(std::move(set));
}

std::optional<size_t> ProviderSet::Find(std::string_view address) const {
  auto it = std::lower_bound(
      providers_.begin(), providers_.end(), address,
      [](const Provider& p, std::string_view a) { return p.address < a; });
  if (it == providers_.end() || it->address != address) return std::nullopt;
  return static_cast<size_t>(it - providers_.begin());
}

}  // namespace dougong::cluster
