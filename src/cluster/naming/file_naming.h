// file://PATH?interval_ms=1000: providers listed in a text file, reloaded
// when it changes (docs/registry.md has the format).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/naming/listed_naming.h"

namespace dougong::cluster::naming {

// One provider per line: "ADDRESS [key=value ...]", '#' starts a comment.
// Keys: the provider fields of provider_codec.h plus service=NAME (the line
// then serves only that service). The error names the line.
Result<std::vector<ListedProvider>> ParseProviderFile(std::string_view text);

// Fails if the file cannot be read or parsed now; later failures keep the
// last good list (logged once per change of the file).
Result<std::shared_ptr<NamingService>> NewFileNaming(std::string path,
                                                     std::chrono::milliseconds interval);

}  // namespace dougong::cluster::naming
