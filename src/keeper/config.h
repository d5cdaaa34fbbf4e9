// The keeper's YAML configuration file (docs/keeper.md lists every key).
// Unknown keys and values of the wrong type are errors naming the key, so a
// typo never silently falls back to a default.
#pragma once

#include <string>

#include "dougong/base/result.h"
#include "dougong/keeper/server.h"

namespace dougong::keeper {

// Reads `path` over `base` (keys absent from the file keep base's values).
Result<KeeperOptions> LoadKeeperConfig(const std::string& path, KeeperOptions base = {});
// The same from YAML text (tests; `origin` names it in errors).
Result<KeeperOptions> ParseKeeperConfig(const std::string& yaml, const std::string& origin, KeeperOptions base = {});

}  // namespace dougong::keeper
