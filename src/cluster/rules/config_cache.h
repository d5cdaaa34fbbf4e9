// The config center's local cache file: the last known value of every key,
// so a process that starts while the registry is down still has its
// settings. Text, one entry per key:
//
//   dougong-config-cache 1
//   KEY LENGTH\n
//   VALUE (LENGTH bytes)\n
//
// Written whole and atomically (tmp, fsync, rename): a crash leaves the old
// or the new cache, never a mix.
#pragma once

#include <map>
#include <string>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::cluster::rules {

using ConfigValues = std::map<std::string, std::string, std::less<>>;

std::string EncodeConfigCache(const ConfigValues& values);
// DATA_LOSS naming the entry for a damaged file.
Result<ConfigValues> DecodeConfigCache(std::string_view text);

// An empty map for a missing file.
Result<ConfigValues> LoadConfigCache(const std::string& path);
Status SaveConfigCache(const std::string& path, const ConfigValues& values);

}  // namespace dougong::cluster::rules
