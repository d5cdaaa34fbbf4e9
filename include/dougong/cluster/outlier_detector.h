// OutlierDetector: takes a provider that keeps failing out of load balancing
// for a while, in Envoy's consecutive-5xx model (Envoy's field named next to
// each option).
//
// - `consecutive_failures` failures in a row, with no success between,
//   eject the host (counter reset on ejection).
// - The k-th ejection lasts min(base_ejection_time * k, max(base, max_ejection_time)).
// - Each `interval` a host spends back in service, not ejected again, takes
//   one off k, so a host that recovered for good is soon judged afresh.
// - A host is ejected only if the ejected hosts stay within
//   max(1, floor(max_ejection_percent * hosts / 100)), and never the last
//   host in service (unless max_ejection_percent is 100): ejection must not
//   leave a cluster with no provider at all.
// Ejections end lazily: the first call after the time is up sees the host
// back. Failures reported for an ejected host do not count.
//
// Hosts are keys chosen by the caller ("10.0.0.7:8000", a provider id). The
// set is given by SetHosts (the percentage needs the total); results for a
// host outside it (a call still in flight to a removed provider) are
// ignored, so that they cannot bring the provider back.
//
// Thread-safe: one mutex over a hash map; each call is O(1) except SetHosts
// and the listing calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dougong/base/status.h"
#include "dougong/cluster/clock.h"

namespace dougong::cluster {

struct OutlierDetectorOptions {
  uint32_t consecutive_failures = 5;                                        // consecutive_5xx
  std::chrono::nanoseconds base_ejection_time = std::chrono::seconds(30);  // base_ejection_time
  std::chrono::nanoseconds max_ejection_time = std::chrono::seconds(300);  // max_ejection_time
  std::chrono::nanoseconds interval = std::chrono::seconds(10);            // interval
  int max_ejection_percent = 10;                                            // max_ejection_percent

  // INVALID_ARGUMENT naming the first bad field; the detector replaces bad
  // fields with the defaults.
  Status Validate() const;
};

struct HostOutlierState {
  std::string host;
  bool ejected = false;
  uint32_t consecutive_failures = 0;
  uint32_t ejection_multiplier = 0;  // k: ejections so far, less the decay
  int64_t ejected_until_nanos = 0;   // when ejected
};

class OutlierDetector {
 public:
  explicit OutlierDetector(const OutlierDetectorOptions& options = {},
                           const Clock& clock = SteadyClock::Instance());

  // Replaces the host set, keeping the state of hosts that stay.
  void SetHosts(const std::vector<std::string>& hosts);

  void OnSuccess(std::string_view host);
  // Returns true if this failure ejected the host.
  bool OnFailure(std::string_view host);

  bool IsEjected(std::string_view host);
  // The hosts in service now (the load balancer's candidates), in no order.
  std::vector<std::string> AvailableHosts();
  std::vector<HostOutlierState> Snapshot();

  size_t host_count() const;
  uint64_t total_ejections() const;
  // Ejections refused by the max_ejection_percent cap.
  uint64_t capped_ejections() const;

 private:
  struct Host {
    uint32_t consecutive_failures = 0;
    uint32_t multiplier = 0;
    bool ejected = false;
    int64_t ejected_until = 0;
    int64_t back_since = 0;  // when it last returned to service (multiplier decay)
  };
  // Heterogeneous lookup: hosts are found by string_view without a copy.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using HostMap = std::unordered_map<std::string, Host, Hash, std::equal_to<>>;

  Host* Find(std::string_view host);
  // Ends the ejection if its time is up, and decays the multiplier.
  void Refresh(Host& h, int64_t now);
  void RefreshAll(int64_t now);
  bool MayEjectOneMore() const;

  const OutlierDetectorOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  HostMap hosts_;
  size_t ejected_ = 0;
  uint64_t total_ejections_ = 0;
  uint64_t capped_ejections_ = 0;
};

}  // namespace dougong::cluster
