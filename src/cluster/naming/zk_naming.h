// zk://h1:2181,h2:2181/ROOT?session_timeout_ms=30000: registry and
// discovery over ZooKeeper or keeper (docs/registry.md).
//
// One ZkClient per instance. Its callbacks only record what happened (a
// watch fired for a service, the session (re)connected or expired) and wake
// the worker thread, which does the reading and writing with blocking calls:
// ZkClient refuses blocking calls on its event thread, and one thread doing
// all the work keeps the order of snapshots simple.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "cluster/naming/subscriber_set.h"
#include "cluster/naming/url.h"
#include "cluster/naming/zk_layout.h"
#include "dougong/cluster/naming.h"
#include "dougong/zk/client.h"

namespace dougong::cluster::naming {

class ZkNaming : public NamingService, public Registry {
 public:
  static Result<std::shared_ptr<ZkNaming>> Create(const NamingUrl& url);
  ~ZkNaming() override;  // closes the session: its nodes vanish at once

  Result<SubscriptionId> Subscribe(std::string_view service, ProviderListener listener) override;
  Status Unsubscribe(SubscriptionId id) override;
  Status Register(const ProviderRegistration& registration) override;
  Status Deregister(std::string_view service, std::string_view address) override;

  // What the client's callbacks tell the worker; shared with them because
  // they may run until the client is gone.
  struct Events;

 private:
  ZkNaming(std::string hosts, ZkLayout layout, zk::ZkClientOptions options);

  Status StartClient();
  void Work();  // one round of the worker
  void SyncService(const std::shared_ptr<zk::ZkClient>& client, const std::string& service);
  Status ReadProviders(zk::ZkClient& client, const std::string& service);
  Status WriteRegistration(zk::ZkClient& client, const ProviderRegistration& r);
  // Finishes the deletions of unfinished_deletes_ that the registry now takes.
  void FinishDeletes(zk::ZkClient& client);
  void WriteConsumer(zk::ZkClient& client, const std::string& service);
  std::shared_ptr<zk::ZkClient> client() const;
  // Being destroyed: calls fail because the client was closed, not worth a log line.
  bool Stopping() const;

  const std::string hosts_;
  const ZkLayout layout_;
  const zk::ZkClientOptions options_;
  const std::string consumer_id_;  // host:pid:instance
  std::shared_ptr<Events> events_;
  SubscriberSet subscribers_;

  mutable std::mutex mu_;
  std::shared_ptr<zk::ZkClient> client_;
  uint64_t client_generation_ = 0;
  // Keyed by (service, address).
  std::map<std::pair<std::string, std::string>, ProviderRegistration> registrations_;
  // Deregistered while the registry was unreachable: the node may still be
  // there, held by this session; deleted on the next full sync.
  std::set<std::pair<std::string, std::string>> unfinished_deletes_;
  // Serializes registration writes, so a re-registration by the worker
  // cannot re-create a node Deregister just deleted.
  std::mutex write_mu_;

  // Worker thread only: services with a persistent watch and a consumer
  // node on the current client.
  std::set<std::string> watched_;
  std::chrono::steady_clock::time_point last_full_sync_;
};

}  // namespace dougong::cluster::naming
