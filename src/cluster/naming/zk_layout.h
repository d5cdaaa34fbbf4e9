// Where things live in ZooKeeper (docs/registry.md):
//   ROOT/services/SERVICE/providers/ENCODED(host:port)   ephemeral
//   ROOT/services/SERVICE/consumers/ENCODED(host:pid:n)  ephemeral
#pragma once

#include <string>
#include <string_view>

#include "cluster/naming/provider_codec.h"

namespace dougong::cluster::naming {

struct ZkLayout {
  std::string root;  // "/dougong"

  std::string Service(std::string_view service) const {
    return root + "/services/" + std::string(service);
  }
  std::string Providers(std::string_view service) const { return Service(service) + "/providers"; }
  std::string Consumers(std::string_view service) const { return Service(service) + "/consumers"; }
  std::string Provider(std::string_view service, std::string_view address) const {
    return Providers(service) + "/" + EncodeNodeName(address);
  }
  std::string Consumer(std::string_view service, std::string_view id) const {
    return Consumers(service) + "/" + EncodeNodeName(id);
  }
  // The service a watched path belongs to; empty if none.
  std::string ServiceOfPath(std::string_view path) const {
    std::string prefix = root + "/services/";
    if (!path.starts_with(prefix)) return {};
    path.remove_prefix(prefix.size());
    return std::string(path.substr(0, path.find('/')));
  }
};

}  // namespace dougong::cluster::naming
