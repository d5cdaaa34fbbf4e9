// One watch table of the keeper, modelled on ZooKeeper 3.8's WatchManager:
// the data tree keeps two of them, data watches (getData, exists) and child
// watches (getChildren), and addWatch puts persistent and persistent-
// recursive watches into both, exactly as DataTree.addWatch does.
//
// A watcher is a session id. Each (session, path) has one mode; adding a
// watch again replaces the mode (WatcherModeManager.setWatcherMode).
//   standard:             fires once for an event on exactly its path
//   persistent:           fires for every event on exactly its path, stays
//   persistent-recursive: fires for every event on its path or below,
//                         except NodeChildrenChanged, stays
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "zk/protocol.h"

namespace dougong::keeper {

enum class WatcherMode : uint8_t { kStandard = 0, kPersistent = 1, kPersistentRecursive = 2 };

class WatchManager {
 public:
  // Returns false if this (session, path) was already there (mode updated).
  bool AddWatch(std::string_view path, int64_t session, WatcherMode mode = WatcherMode::kStandard);

  // The sessions to notify of `type` on `path`, in ascending order, minus
  // those in `suppress`; standard watches that fire are removed.
  std::vector<int64_t> Trigger(std::string_view path, zk::EventType type,
                               const std::vector<int64_t>* suppress = nullptr);

  // Whether `session` has a watch on exactly `path` here, or a recursive
  // watch on `path` or an ancestor of it.
  bool Contains(std::string_view path, int64_t session) const;
  // Removes the watch of `session` on exactly `path`; false if none.
  bool Remove(std::string_view path, int64_t session);
  // Drops every watch of a session (its connection closed or it expired).
  void RemoveSession(int64_t session);

  // The watched paths of a session (tests, `wchc`-like reports).
  std::vector<std::string> PathsOf(int64_t session) const;
  size_t watch_count() const;  // (session, path) pairs
  size_t path_count() const { return by_path_.size(); }
  size_t recursive_count() const { return recursive_count_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Watchers = std::unordered_map<int64_t, WatcherMode>;
  std::unordered_map<std::string, Watchers, StringHash, std::equal_to<>> by_path_;
  std::unordered_map<int64_t, std::unordered_set<std::string>> by_session_;
  size_t recursive_count_ = 0;
};

}  // namespace dougong::keeper
