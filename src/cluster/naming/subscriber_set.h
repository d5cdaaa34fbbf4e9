// The listeners of a naming service and the last snapshot of each service.
// Every backend publishes provider lists here; this turns them into
// ProviderSet snapshots (keeping the stats of providers that stay) and calls
// the listeners only when the list changed, or for the first time.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/cluster/naming.h"

namespace dougong::cluster::naming {

class SubscriberSet {
 public:
  // Adds a listener; if the service already has a snapshot the listener
  // gets it before Add returns (on this thread).
  SubscriptionId Add(std::string_view service, ProviderListener listener);
  // Removes a listener and waits for a call of it in progress on another
  // thread. Returns the service, with `last` set when it has no listener
  // left; NOT_FOUND for an unknown id.
  Result<std::string> Remove(SubscriptionId id, bool* last);

  // The services with at least one listener.
  std::vector<std::string> Services() const;

  // Publishes the full list of `service` (any order). Invalid lists
  // (duplicate addresses) are refused and the last snapshot kept.
  Status Publish(std::string_view service, std::vector<Provider> providers);

 private:
  struct Subscriber {
    SubscriptionId id = 0;
    ProviderListener listener;
    bool delivered = false;  // has seen the current snapshot
  };
  struct ServiceState {
    ProviderSetPtr current;
    std::vector<std::shared_ptr<Subscriber>> subscribers;
  };

  // Calls the listeners of `service` that have not seen its snapshot.
  void Deliver(const std::string& service);

  mutable std::mutex mu_;  // services_, next_id_
  std::map<std::string, ServiceState, std::less<>> services_;
  SubscriptionId next_id_ = 1;
  // Held while listeners run, so calls never overlap and Remove can wait for
  // one in progress. Recursive: a listener may Subscribe or Unsubscribe.
  std::recursive_mutex call_mu_;
};

}  // namespace dougong::cluster::naming
