// multicast://239.x.x.x:PORT: registration and discovery without a central
// node, for development on one host or one LAN (docs/registry.md).
//
// A Registry announces each registration to the group every interval_ms
// (and at once on Register), says goodbye on Deregister and when destroyed,
// and answers a consumer's query at once. A NamingService keeps what it
// hears, each provider until its announcement's ttl_ms runs out unrenewed,
// and asks the group on start so that it need not wait for a period.
#pragma once

#include <memory>

#include "cluster/naming/url.h"
#include "dougong/cluster/naming.h"

namespace dougong::cluster::naming {

Result<std::shared_ptr<Registry>> NewMulticastRegistry(const NamingUrl& url);
Result<std::shared_ptr<NamingService>> NewMulticastNaming(const NamingUrl& url);

}  // namespace dougong::cluster::naming
