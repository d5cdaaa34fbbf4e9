#include "cluster/naming/listed_naming.h"

#include <utility>

#include "cluster/naming/text.h"
#include "cluster/naming/url.h"

namespace dougong::cluster::naming {

Result<SubscriptionId> ListedNaming::Subscribe(std::string_view service, ProviderListener listener) {
  if (service.empty()) return InvalidArgument("Subscribe: empty service name");
  std::lock_guard lock(publish_mu_);
  SubscriptionId id = subscribers_.Add(service, std::move(listener));
  PublishService(std::string(service));
  return id;
}

Status ListedNaming::Unsubscribe(SubscriptionId id) {
  bool last = false;
  return subscribers_.Remove(id, &last).status();
}

void ListedNaming::SetList(std::vector<ListedProvider> list) {
  std::lock_guard lock(publish_mu_);
  list_ = std::move(list);
  has_list_ = true;
  for (const std::string& service : subscribers_.Services()) PublishService(service);
}

void ListedNaming::PublishService(const std::string& service) {
  if (!has_list_) return;
  std::vector<Provider> providers;
  for (const ListedProvider& p : list_) {
    if (p.service.empty() || p.service == service) providers.push_back(p.provider);
  }
  // The sources refuse duplicate addresses before they get here.
  (void)subscribers_.Publish(service, std::move(providers));
}

namespace {

class ListNaming : public ListedNaming {
 public:
  explicit ListNaming(std::vector<ListedProvider> list) { SetList(std::move(list)); }
};

}  // namespace

Result<std::shared_ptr<NamingService>> NewListNaming(std::string_view authority) {
  std::vector<ListedProvider> list;
  std::string_view rest = authority;
  while (!rest.empty()) {
    std::string_view address = TakeItem(&rest, ',');
    if (Status st = CheckHostPort(address); !st.ok()) return Status(st.code(), "list://: " + st.message());
    for (const ListedProvider& p : list) {
      if (p.provider.address == address) {
        return InvalidArgument("list://: " + std::string(address) + " is listed twice");
      }
    }
    ListedProvider p;
    p.provider.address = address;
    list.push_back(std::move(p));
  }
  if (list.empty()) return InvalidArgument("list://: no address (want list://host:port,host:port)");
  return std::shared_ptr<NamingService>(std::make_shared<ListNaming>(std::move(list)));
}

}  // namespace dougong::cluster::naming
