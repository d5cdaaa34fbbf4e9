#include "dougong/cluster/outlier_detector.h"

#include <algorithm>

#include "cluster/option_check.h"

namespace dougong::cluster {
namespace {

Status Check(OutlierDetectorOptions& o) {
  const OutlierDetectorOptions d;
  OptionCheck c;
  if (c.Bad(o.consecutive_failures >= 1, "outlier detection: consecutive_failures must be >= 1")) {
    o.consecutive_failures = d.consecutive_failures;
  }
  if (c.Bad(o.base_ejection_time.count() > 0, "outlier detection: base_ejection_time must be > 0")) {
    o.base_ejection_time = d.base_ejection_time;
  }
  if (c.Bad(o.max_ejection_time.count() > 0, "outlier detection: max_ejection_time must be > 0")) {
    o.max_ejection_time = d.max_ejection_time;
  }
  if (c.Bad(o.interval.count() > 0, "outlier detection: interval must be > 0")) o.interval = d.interval;
  if (c.Bad(o.max_ejection_percent >= 0 && o.max_ejection_percent <= 100,
            "outlier detection: max_ejection_percent must be in [0, 100]")) {
    o.max_ejection_percent = d.max_ejection_percent;
  }
  return c.status();
}

}  // namespace

Status OutlierDetectorOptions::Validate() const {
  OutlierDetectorOptions copy = *this;
  return Check(copy);
}

OutlierDetector::OutlierDetector(const OutlierDetectorOptions& options, const Clock& clock)
    : options_(Repaired(options, &Check)), clock_(clock) {}

void OutlierDetector::SetHosts(const std::vector<std::string>& hosts) {
  std::lock_guard lock(mu_);
  HostMap next;
  for (const std::string& name : hosts) {
    auto it = hosts_.find(name);
    next.emplace(name, it == hosts_.end() ? Host{} : it->second);
  }
  hosts_ = std::move(next);
  ejected_ = static_cast<size_t>(std::count_if(hosts_.begin(), hosts_.end(),
                                               [](const auto& kv) { return kv.second.ejected; }));
}

OutlierDetector::Host* OutlierDetector::Find(std::string_view host) {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? nullptr : &it->second;
}

void OutlierDetector::Refresh(Host& h, int64_t now) {
  if (h.ejected) {
    if (now < h.ejected_until) return;
    h.ejected = false;
    h.back_since = h.ejected_until;
    --ejected_;
  }
  const int64_t interval = options_.interval.count();
  if (h.multiplier > 0 && now - h.back_since >= interval) {
    const int64_t steps = (now - h.back_since) / interval;
    h.multiplier = steps >= h.multiplier ? 0 : h.multiplier - static_cast<uint32_t>(steps);
    h.back_since += steps * interval;
  }
}

void OutlierDetector::RefreshAll(int64_t now) {
  for (auto& [name, h] : hosts_) Refresh(h, now);
}

bool OutlierDetector::MayEjectOneMore() const {
  const size_t n = hosts_.size();
  size_t cap = n;
  if (options_.max_ejection_percent < 100) {
    cap = std::max<size_t>(1, n * static_cast<size_t>(options_.max_ejection_percent) / 100);
    cap = std::min(cap, n - 1);  // n >= 1: the host being judged is in the set
  }
  return ejected_ < cap;
}

void OutlierDetector::OnSuccess(std::string_view host) {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  Host* h = Find(host);
  if (h == nullptr) return;
  Refresh(*h, now);
  if (!h->ejected) h->consecutive_failures = 0;
}

bool OutlierDetector::OnFailure(std::string_view host) {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  Host* found = Find(host);
  if (found == nullptr) return false;
  Host& h = *found;
  Refresh(h, now);
  if (h.ejected || ++h.consecutive_failures < options_.consecutive_failures) return false;
  RefreshAll(now);  // hosts whose time is up no longer count against the cap
  if (!MayEjectOneMore()) {
    ++capped_ejections_;
    return false;  // the streak stays: the host is ejected once there is room
  }
  h.consecutive_failures = 0;
  ++h.multiplier;
  const int64_t base = options_.base_ejection_time.count();
  const int64_t longest = std::max(base, options_.max_ejection_time.count());
  // base * multiplier without overflow: the multiplier is capped first.
  const int64_t duration =
      h.multiplier > longest / base ? longest : std::min(longest, base * static_cast<int64_t>(h.multiplier));
  h.ejected = true;
  h.ejected_until = now + duration;
  ++ejected_;
  ++total_ejections_;
  return true;
}

bool OutlierDetector::IsEjected(std::string_view host) {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  Host* h = Find(host);
  if (h == nullptr) return false;
  Refresh(*h, now);
  return h->ejected;
}

std::vector<std::string> OutlierDetector::AvailableHosts() {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  RefreshAll(now);
  std::vector<std::string> out;
  out.reserve(hosts_.size() - ejected_);
  for (const auto& [name, h] : hosts_) {
    if (!h.ejected) out.push_back(name);
  }
  return out;
}

std::vector<HostOutlierState> OutlierDetector::Snapshot() {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(mu_);
  RefreshAll(now);
  std::vector<HostOutlierState> out;
  out.reserve(hosts_.size());
  for (const auto& [name, h] : hosts_) {
    out.push_back({name, h.ejected, h.consecutive_failures, h.multiplier, h.ejected ? h.ejected_until : 0});
  }
  return out;
}

size_t OutlierDetector::host_count() const {
  std::lock_guard lock(mu_);
  return hosts_.size();
}

uint64_t OutlierDetector::total_ejections() const {
  std::lock_guard lock(mu_);
  return total_ejections_;
}

uint64_t OutlierDetector::capped_ejections() const {
  std::lock_guard lock(mu_);
  return capped_ejections_;
}

}  // namespace dougong::cluster
