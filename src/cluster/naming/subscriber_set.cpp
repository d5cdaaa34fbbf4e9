#include "cluster/naming/subscriber_set.h"

#include <algorithm>
#include <utility>

namespace dougong::cluster::naming {

namespace {

bool SameProvider(const Provider& a, const Provider& b) {
  return a.address == b.address && a.weight == b.weight && a.zone == b.zone && a.host == b.host &&
         a.version == b.version && a.group == b.group && a.tags == b.tags &&
         a.start_time_ms == b.start_time_ms && a.warmup_ms == b.warmup_ms;
}

bool SameSet(const ProviderSet& a, const ProviderSet& b) {
  return std::equal(a.providers().begin(), a.providers().end(), b.providers().begin(),
                    b.providers().end(), SameProvider);
}

}  // namespace

SubscriptionId SubscriberSet::Add(std::string_view service, ProviderListener listener) {
  std::lock_guard call(call_mu_);
  SubscriptionId id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    auto sub = std::make_shared<Subscriber>();
    sub->id = id;
    sub->listener = std::move(listener);
    auto it = services_.try_emplace(std::string(service)).first;
    it->second.subscribers.push_back(std::move(sub));
  }
  Deliver(std::string(service));
  return id;
}

Result<std::string> SubscriberSet::Remove(SubscriptionId id, bool* last) {
  std::string service;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, state] : services_) {
      auto& subs = state.subscribers;
      auto it = std::find_if(subs.begin(), subs.end(), [id](const auto& s) { return s->id == id; });
      if (it == subs.end()) continue;
      subs.erase(it);
      service = name;
      *last = subs.empty();
      // The snapshot goes too: a later subscriber must not get a list that
      // stopped being watched.
      if (*last) services_.erase(name);
      break;
    }
  }
  if (service.empty()) return NotFound("no subscription " + std::to_string(id));
  // Waits for a listener call in progress on another thread (re-entrant if
  // this is the listener's own thread).
  std::lock_guard call(call_mu_);
  return service;
}

std::vector<std::string> SubscriberSet::Services() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, state] : services_) out.push_back(name);
  return out;
}

Status SubscriberSet::Publish(std::string_view service, std::vector<Provider> providers) {
  std::lock_guard call(call_mu_);
  {
    std::lock_guard lock(mu_);
    auto it = services_.find(service);
    if (it == services_.end()) return Status::Ok();  // nobody listens any more
    ServiceState& state = it->second;
    Result<ProviderSetPtr> set = ProviderSet::Create(std::move(providers), state.current.get());
    if (!set.ok()) return set.status();
    if (state.current != nullptr && SameSet(**set, *state.current)) {
      // Unchanged: only listeners that have seen nothing yet get it.
    } else {
      state.current = std::move(*set);
      for (auto& sub : state.subscribers) sub->delivered = false;
    }
  }
  Deliver(std::string(service));
  return Status::Ok();
}

void SubscriberSet::Deliver(const std::string& service) {
  // call_mu_ is held by the caller.
  std::vector<std::shared_ptr<Subscriber>> due;
  ProviderSetPtr set;
  {
    std::lock_guard lock(mu_);
    auto it = services_.find(service);
    if (it == services_.end() || it->second.current == nullptr) return;
    set = it->second.current;
    for (auto& sub : it->second.subscribers) {
      if (!sub->delivered) {
        sub->delivered = true;
        due.push_back(sub);
      }
    }
  }
  for (auto& sub : due) {
    // A listener may have unsubscribed an earlier one of this batch.
    bool still;
    {
      std::lock_guard lock(mu_);
      auto it = services_.find(service);
      still = it != services_.end() &&
              std::find(it->second.subscribers.begin(), it->second.subscribers.end(), sub) !=
                  it->second.subscribers.end();
    }
    if (still) sub->listener(set);
  }
}

}  // namespace dougong::cluster::naming
