// ConfigCenter: live configuration kept in ZooKeeper (or keeper) under
// ROOT/config/, pushed to every process by watches and kept in a local cache
// file so a registry outage never leaves a process without its settings
// (docs/rules.md).
//
//   cluster::ConfigCenterOptions o;
//   o.cache_file = "/var/lib/app/config.cache";
//   auto cc = cluster::ConfigCenter::Create("zk://127.0.0.1:2181/dougong", o);
//   auto timeout = (*cc)->GetDuration("apps/web/timeout");     // Result<milliseconds>
//   auto id = (*cc)->Watch("apps/web/feature_x", [](const std::optional<std::string>& v) {
//     // v: the current value, then every change; nullopt: the key does not exist
//   });
//
// Keys are relative paths ("apps/web/timeout", "services/pkg.Svc/rules"):
// segments of [A-Za-z0-9._:@+=,-] separated by '/'. A key is one znode,
// ROOT/config/KEY; its value is the node's data.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::cluster {

struct ConfigCenterOptions {
  // The last known values are kept here (written atomically after every
  // change) and served when the registry cannot be reached at start. Empty:
  // no cache.
  std::string cache_file;
  // The longest a call that needs the registry (Get of a key not known yet,
  // Set, Delete, List) waits for a connection.
  std::chrono::milliseconds connect_wait{3000};
};

// The value of a watched key: nullopt when the key does not exist (or was
// deleted).
using ConfigListener = std::function<void(const std::optional<std::string>& value)>;
using ConfigWatchId = uint64_t;

// Checks a key: INVALID_ARGUMENT naming the bad part.
Status CheckConfigKey(std::string_view key);

// Value parsers shared by the typed getters (INVALID_ARGUMENT naming the
// text): integers ("42", "-1"), doubles ("0.5"), booleans (true/false,
// yes/no, on/off, 1/0) and durations ("500ms", "2s", "1m", "1h", "250us";
// a bare number is milliseconds).
Result<int64_t> ParseConfigInt(std::string_view text);
Result<double> ParseConfigDouble(std::string_view text);
Result<bool> ParseConfigBool(std::string_view text);
Result<std::chrono::milliseconds> ParseConfigDuration(std::string_view text);

class ConfigCenter {
 public:
  // `url`: zk://HOST:PORT[,HOST:PORT...][/ROOT][?session_timeout_ms=N]
  // (ROOT defaults to /dougong). Does not wait for the registry: the cache
  // file, if any, serves until it answers. Fails for a bad URL or an
  // unreadable (not missing) cache file.
  static Result<std::shared_ptr<ConfigCenter>> Create(std::string_view url, ConfigCenterOptions options = {});
  virtual ~ConfigCenter() = default;

  // The value. Known keys (watched, read before, or in the cache) answer
  // from memory, which the watches keep current; others are read from the
  // registry. NOT_FOUND when the key does not exist; UNAVAILABLE when it is
  // unknown and the registry cannot be reached.
  virtual Result<std::string> Get(std::string_view key) = 0;
  Result<int64_t> GetInt64(std::string_view key);
  Result<double> GetDouble(std::string_view key);
  Result<bool> GetBool(std::string_view key);
  Result<std::chrono::milliseconds> GetDuration(std::string_view key);

  // Calls `listener` with the current value as soon as it is known (at once,
  // on this thread, when it already is), then after every change, deletion
  // included. Calls for one watch never overlap and never go back to an
  // older value. Later calls run on the config center's own thread. A
  // registry outage delivers nothing: the last value stays.
  virtual Result<ConfigWatchId> Watch(std::string_view key, ConfigListener listener) = 0;
  // After it returns the listener is not called again (it may be called
  // from the listener itself).
  virtual Status Unwatch(ConfigWatchId id) = 0;

  // Writes through to the registry (creating parents); the watches then
  // bring the change to every process, this one included.
  virtual Status Set(std::string_view key, std::string_view value) = 0;
  // NOT_FOUND if the key does not exist.
  virtual Status Delete(std::string_view key) = 0;
  // Every key under `prefix` ("" for all) that has no children, sorted.
  virtual Result<std::vector<std::string>> List(std::string_view prefix) = 0;

  // Waits until the registry has been read once since start (every known
  // key re-read); false on timeout.
  virtual bool WaitSynced(std::chrono::milliseconds timeout) = 0;
};

}  // namespace dougong::cluster
