// The config center over ZooKeeper or keeper (docs/rules.md).
//
// Every key the process cares about (watched, read, or in the cache) is an
// entry in memory. One persistent recursive watch on ROOT/config reports
// every change; the watch callback only marks the key, and the worker thread
// re-reads the marked keys (one multiRead), updates the entries, writes the
// cache file and calls the listeners. On (re)connection and after a session
// expiry every entry is re-read. A failed read changes nothing, nor does a
// registry without ROOT/config at all (one that lost its data): an outage
// never replaces known values with nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/naming/zk_util.h"
#include "cluster/rules/config_cache.h"
#include "dougong/cluster/config_center.h"
#include "dougong/zk/client.h"

namespace dougong::cluster::rules {

class ZkConfigCenter : public ConfigCenter {
 public:
  static Result<std::shared_ptr<ZkConfigCenter>> Create(const naming::ZkTarget& target, ConfigCenterOptions options);
  ~ZkConfigCenter() override;

  Result<std::string> Get(std::string_view key) override;
  Result<ConfigWatchId> Watch(std::string_view key, ConfigListener listener) override;
  Status Unwatch(ConfigWatchId id) override;
  Status Set(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<std::string>> List(std::string_view prefix) override;
  bool WaitSynced(std::chrono::milliseconds timeout) override;

  // Shared with the client's callbacks, which may outlive this object.
  struct Events;

 private:
  struct Entry {
    bool known = false;  // read from the registry or the cache at least once
    std::optional<std::string> value;
    uint64_t version = 0;  // bumped on every change; listeners never go back
  };
  struct Watcher {
    std::string key;
    ConfigListener listener;
    std::recursive_mutex mu;  // one call at a time; Unwatch from the listener
    bool active = true;
    uint64_t delivered = 0;
  };

  ZkConfigCenter(naming::ZkTarget target, ConfigCenterOptions options);

  Status StartClient();
  void Work();
  // Reads `keys` and applies what the registry says; false if a read failed.
  bool ReadKeys(zk::ZkClient& client, const std::vector<std::string>& keys, std::vector<std::string>* changed);
  void Deliver(const std::shared_ptr<Watcher>& w);
  void SaveCache();
  std::shared_ptr<zk::ZkClient> ConnectedClient();
  std::string PathOf(std::string_view key) const { return config_root_ + "/" + std::string(key); }

  const naming::ZkTarget target_;
  const ConfigCenterOptions options_;
  const std::string config_root_;  // ROOT/config
  std::shared_ptr<Events> events_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // an entry became known; the first sync ended
  std::shared_ptr<zk::ZkClient> client_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::map<ConfigWatchId, std::shared_ptr<Watcher>> watchers_;
  ConfigWatchId next_id_ = 1;
  uint64_t next_version_ = 1;
  bool synced_ = false;

  // Worker thread only.
  bool watch_armed_ = false;  // the recursive watch is on the current client
  bool root_missing_logged_ = false;
  std::chrono::steady_clock::time_point last_full_sync_;
};

}  // namespace dougong::cluster::rules
