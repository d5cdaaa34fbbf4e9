// ServerPublisher: registers the services of an rpc::Server in a registry
// once the server serves, and deregisters them when it begins to stop,
// before the drain, so consumers drop the instance while its calls in flight
// finish (docs/cluster.md, "Publishing a server").
//
//   rpc::Server server;
//   server.AddService(&echo);
//   cluster::PublishOptions p;
//   p.zone = "az1";
//   auto publisher = cluster::ServerPublisher::Attach(server, "zk://10.0.0.5:2181/dougong", p);
//   server.Start("0.0.0.0:8000");   // registers 127.0.0.1:8000 ... or p.address
//   ...
//   server.Stop();                   // deregisters, then go-away and drain
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/cluster/naming.h"

namespace dougong::rpc {
class Server;
}

namespace dougong::cluster {

// The registration fields of one server; every published service gets them.
struct PublishOptions {
  // "host:port" consumers dial. Empty: the server's bound address, with
  // 127.0.0.1 in place of an all-interfaces (0.0.0.0, ::) listen address.
  std::string address;
  int weight = 100;
  std::string zone;
  std::string version;
  std::string group;
  std::map<std::string, std::string> tags;
  int64_t warmup_ms = 10 * 60 * 1000;  // Provider::warmup_ms; <= 0: none
  // Services to publish by full name; empty: every service added to the
  // server (the reflection service is never published).
  std::vector<std::string> services;
};

// The address to advertise for a server bound to `listen_address`
// ("ip:port", "[v6]:port"): itself, or 127.0.0.1 with its port when it is
// an all-interfaces address (0.0.0.0, ::).
std::string DefaultAdvertisedAddress(std::string_view listen_address);

class ServerPublisher {
 public:
  // Adds the server's OnServing and OnStopping hooks, so call it before
  // server.Start(). The publisher may be destroyed before or after the
  // server; once destroyed, the hooks do nothing.
  static Result<std::unique_ptr<ServerPublisher>> Attach(rpc::Server& server, std::shared_ptr<Registry> registry,
                                                         PublishOptions options = {});
  // Registry::FromUrl(registry_url) (zk:// only).
  static Result<std::unique_ptr<ServerPublisher>> Attach(rpc::Server& server, std::string_view registry_url,
                                                         PublishOptions options = {});
  // Withdraws what is still published.
  ~ServerPublisher();
  ServerPublisher(const ServerPublisher&) = delete;
  ServerPublisher& operator=(const ServerPublisher&) = delete;

  // What the hooks run; callable by hand too (say, to leave the registry
  // before a long maintenance without stopping). Publish registers every
  // service (all are tried; the first error is returned, and the registry
  // keeps an unreachable registration to write later); Withdraw
  // deregisters them.
  Status Publish();
  Status Withdraw();

  // The services registered now and the address they were registered with.
  std::vector<std::string> published() const;
  std::string address() const;

  struct State;
  explicit ServerPublisher(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

}  // namespace dougong::cluster
