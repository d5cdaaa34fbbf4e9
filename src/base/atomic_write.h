// Replacing a small file whole: a crash leaves the old or the new file,
// never a mix (the config center's cache, other state files).
#pragma once

#include <string>
#include <string_view>

#include "dougong/base/status.h"

namespace dougong {

// Writes `path`.tmp, fsyncs it, renames it over `path`, fsyncs the directory.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace dougong
