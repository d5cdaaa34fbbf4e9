// The consumer side of the backends that hold a whole provider list
// themselves (list://, file://, dns://): subscriptions are served from that
// list, and replacing it notifies every subscribed service. Registration is
// not possible there; providers are listed by whoever writes the list.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/naming/subscriber_set.h"
#include "dougong/cluster/naming.h"

namespace dougong::cluster::naming {

struct ListedProvider {
  Provider provider;
  std::string service;  // empty: a provider of every service
};

class ListedNaming : public NamingService {
 public:
  Result<SubscriptionId> Subscribe(std::string_view service, ProviderListener listener) override;
  Status Unsubscribe(SubscriptionId id) override;

 protected:
  // Replaces the list and notifies the services whose providers changed.
  void SetList(std::vector<ListedProvider> list);

 private:
  // publish_mu_ held.
  void PublishService(const std::string& service);

  // Orders list changes with the first delivery of a new subscription, so a
  // subscriber never gets an older list after a newer one. Recursive: a
  // listener may subscribe.
  std::recursive_mutex publish_mu_;
  std::vector<ListedProvider> list_;
  bool has_list_ = false;
  SubscriberSet subscribers_;
};

// list://h1:p1,h2:p2: the same fixed providers for every service.
Result<std::shared_ptr<NamingService>> NewListNaming(std::string_view authority);

}  // namespace dougong::cluster::naming
