// The built-in dougong.rpc.Reflection service, added to every server.
#pragma once

#include <memory>
#include <vector>

#include "dougong/rpc/service.h"

namespace dougong::rpc {

// Serves the schemas of `services` (not owned; must outlive it).
std::unique_ptr<Service> MakeReflectionService(const std::vector<Service*>* services);

}  // namespace dougong::rpc
