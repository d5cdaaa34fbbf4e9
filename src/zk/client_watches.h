// The client's watch registry: which watchers wait on which (server-side,
// chroot included) path, and which of them an event fires (ZooKeeper's
// ZKWatchManager rules). Lives on the client's I/O thread: no locks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dougong/zk/types.h"
#include "zk/records.h"

namespace dougong::zk::client {

enum class WatchKind { kData, kExist, kChild, kPersistent, kPersistentRecursive };
inline constexpr int kNumWatchKinds = 5;

class WatchRegistry {
 public:
  void Add(WatchKind kind, const std::string& path, ZkWatcher watcher);

  // The watchers a server notification of `type` on `path` fires: one-shot
  // ones are removed (data/exist on NodeCreated/NodeDataChanged/NodeDeleted,
  // child on NodeChildrenChanged/NodeDeleted); persistent watchers on the
  // path, and persistent recursive ones on it or an ancestor (not for
  // NodeChildrenChanged), stay.
  std::vector<ZkWatcher> Materialize(int32_t type, const std::string& path);

  // Every watcher, registry cleared (session expired).
  std::vector<ZkWatcher> TakeAll();

  // removeWatches of `type` on `path`: the watchers removed, each with the
  // event it gets (DataWatchRemoved, ChildWatchRemoved, PersistentWatchRemoved).
  std::vector<std::pair<ZkWatcher, ZkEventType>> Remove(const std::string& path, ZkWatcherType type);
  bool Has(const std::string& path, ZkWatcherType type) const;

  bool empty() const;

  // The setWatches2 packets that re-arm everything after a reconnection,
  // each under `max_bytes` of paths (ZooKeeper's client keeps each under
  // 128 KiB); one path longer than that gets a packet of its own.
  std::vector<SetWatches2> SetWatchesBatches(int64_t relative_zxid, size_t max_bytes) const;

 private:
  void Take(WatchKind kind, const std::string& path, std::vector<ZkWatcher>* out);
  std::map<std::string, std::vector<ZkWatcher>> by_kind_[kNumWatchKinds];
};

}  // namespace dougong::zk::client
