// What the ZooKeeper-backed services (naming, the config center) share:
// the zk:// URL's parts and creating a path with its parents.
#pragma once

#include <chrono>
#include <string>

#include "cluster/naming/url.h"
#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/zk/client.h"

namespace dougong::cluster::naming {

struct ZkTarget {
  std::string hosts;  // the connect string, without a chroot
  std::string root;   // "/dougong": no trailing '/', never empty
  std::chrono::milliseconds session_timeout{30000};
};

// zk://HOSTS[/ROOT][?session_timeout_ms=N]; errors name the URL's bad part.
Result<ZkTarget> ParseZkTarget(const NamingUrl& url);

// Creates `path` and its missing ancestors as persistent nodes (empty data).
Status EnsurePath(zk::ZkClient& client, const std::string& path);

}  // namespace dougong::cluster::naming
