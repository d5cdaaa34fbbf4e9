// Service discovery and registration (docs/registry.md). One interface, the
// backend chosen by URL:
//
//   zk://h1:2181,h2:2181/dougong   ZooKeeper or keeper; providers register
//   list://10.0.0.1:8000,10.0.0.2:8000   a fixed list
//   file:///etc/dougong/echo.providers?interval_ms=1000   reloaded on change
//   dns://echo.internal:8000?interval_ms=5000   A/AAAA, re-resolved
//   multicast://239.255.42.1:4700?interval_ms=1000   no central node; providers
//                                  announce themselves (development)
//
//   auto naming = cluster::NamingService::FromUrl("zk://127.0.0.1:2181/dougong");
//   auto id = (*naming)->Subscribe("pkg.Echo", [](const ProviderSetPtr& set) {
//     channel.Swap(set);   // a full snapshot, on every change
//   });
//
// A listener always gets the whole provider list, never a delta, so a missed
// notification cannot leave a consumer with a wrong view. A registry that is
// unreachable produces no notification at all: consumers keep the last known
// list (an outage of the registry must not empty a working cluster).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/cluster/provider.h"

namespace dougong::cluster {

// Receives the complete provider list of one service. Snapshots are built
// with ProviderSet::Create(providers, previous), so providers that stay keep
// their live statistics. Runs on the naming service's own thread (or, for
// the first snapshot of a service already known, on the thread calling
// Subscribe); calls for one naming service never overlap and arrive in order.
using ProviderListener = std::function<void(const ProviderSetPtr&)>;
using SubscriptionId = uint64_t;

// What a provider announces for one service.
struct ProviderRegistration {
  std::string service;  // full service name, e.g. "dougong.example.EchoService"
  // address ("host:port", required), weight, zone, version, group, tags,
  // start_time_ms (0: now, filled by Register), warmup_ms.
  Provider provider;
  std::vector<std::string> methods;  // for operators; consumers ignore it
};

// The provider side. Implementations keep what was registered and re-create
// it when the registry lost it (ZooKeeper session expiry), until Deregister.
class Registry {
 public:
  // zk:// and multicast://: the other schemes are read-only
  // (INVALID_ARGUMENT says so).
  static Result<std::shared_ptr<Registry>> FromUrl(std::string_view url);
  virtual ~Registry() = default;

  // Call once the server is ready to serve. Blocks until the registry has
  // the entry or refused it. An error for an unreachable registry still
  // leaves the registration kept: it is written when the registry is back.
  virtual Status Register(const ProviderRegistration& registration) = 0;
  // Call before draining on a graceful stop, so consumers stop picking this
  // instance while its calls in flight finish. NOT_FOUND if never registered.
  virtual Status Deregister(std::string_view service, std::string_view address) = 0;
};

// The consumer side.
class NamingService {
 public:
  // Parses the URL and starts the backend. INVALID_ARGUMENT names the bad
  // part (unknown scheme, missing host or port, bad query parameter); a
  // file:// whose file cannot be read or parsed at start fails too.
  static Result<std::shared_ptr<NamingService>> FromUrl(std::string_view url);
  virtual ~NamingService() = default;

  // Starts watching `service`. The listener gets the current list as soon as
  // it is known, then every change. The id is for Unsubscribe.
  virtual Result<SubscriptionId> Subscribe(std::string_view service, ProviderListener listener) = 0;
  // After it returns the listener is not called again (unless Unsubscribe
  // is called from that listener, which is allowed). NOT_FOUND for an
  // unknown id.
  virtual Status Unsubscribe(SubscriptionId id) = 0;
};

}  // namespace dougong::cluster
