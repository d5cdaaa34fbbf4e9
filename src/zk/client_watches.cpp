#include "zk/client_watches.h"

#include "zk/protocol.h"

namespace dougong::zk::client {

namespace {
int Index(WatchKind k) { return static_cast<int>(k); }
}  // namespace

void WatchRegistry::Add(WatchKind kind, const std::string& path, ZkWatcher watcher) {
  if (!watcher) return;
  by_kind_[Index(kind)][path].push_back(std::move(watcher));
}

void WatchRegistry::Take(WatchKind kind, const std::string& path, std::vector<ZkWatcher>* out) {
  auto& m = by_kind_[Index(kind)];
  auto it = m.find(path);
  if (it == m.end()) return;
  for (auto& w : it->second) out->push_back(std::move(w));
  m.erase(it);
}

std::vector<ZkWatcher> WatchRegistry::Materialize(int32_t type, const std::string& path) {
  std::vector<ZkWatcher> out;
  switch (static_cast<EventType>(type)) {
    case EventType::kNodeCreated:
    case EventType::kNodeDataChanged:
      Take(WatchKind::kData, path, &out);
      Take(WatchKind::kExist, path, &out);
      break;
    case EventType::kNodeChildrenChanged:
      Take(WatchKind::kChild, path, &out);
      break;
    case EventType::kNodeDeleted:
      Take(WatchKind::kData, path, &out);
      Take(WatchKind::kExist, path, &out);
      Take(WatchKind::kChild, path, &out);
      break;
    default:
      break;
  }
  if (auto it = by_kind_[Index(WatchKind::kPersistent)].find(path);
      it != by_kind_[Index(WatchKind::kPersistent)].end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (static_cast<EventType>(type) != EventType::kNodeChildrenChanged) {
    auto& rec = by_kind_[Index(WatchKind::kPersistentRecursive)];
    if (!rec.empty()) {
      // The path itself, then each ancestor up to "/".
      std::string p = path;
      for (;;) {
        if (auto it = rec.find(p); it != rec.end()) out.insert(out.end(), it->second.begin(), it->second.end());
        if (p == "/" || p.empty()) break;
        auto slash = p.rfind('/');
        p = slash == 0 ? "/" : p.substr(0, slash);
      }
    }
  }
  return out;
}

std::vector<ZkWatcher> WatchRegistry::TakeAll() {
  std::vector<ZkWatcher> out;
  for (auto& m : by_kind_) {
    for (auto& [path, ws] : m)
      for (auto& w : ws) out.push_back(std::move(w));
    m.clear();
  }
  return out;
}

std::vector<std::pair<ZkWatcher, ZkEventType>> WatchRegistry::Remove(const std::string& path, ZkWatcherType type) {
  std::vector<std::pair<ZkWatcher, ZkEventType>> out;
  auto take = [&](WatchKind kind, ZkEventType ev) {
    std::vector<ZkWatcher> ws;
    Take(kind, path, &ws);
    for (auto& w : ws) out.emplace_back(std::move(w), ev);
  };
  if (type == ZkWatcherType::kData || type == ZkWatcherType::kAny) {
    take(WatchKind::kData, ZkEventType::kDataWatchRemoved);
    take(WatchKind::kExist, ZkEventType::kDataWatchRemoved);
  }
  if (type == ZkWatcherType::kChildren || type == ZkWatcherType::kAny) {
    take(WatchKind::kChild, ZkEventType::kChildWatchRemoved);
  }
  if (type == ZkWatcherType::kAny) {
    take(WatchKind::kPersistent, ZkEventType::kPersistentWatchRemoved);
    take(WatchKind::kPersistentRecursive, ZkEventType::kPersistentWatchRemoved);
  }
  return out;
}

bool WatchRegistry::Has(const std::string& path, ZkWatcherType type) const {
  auto has = [&](WatchKind k) { return by_kind_[Index(k)].count(path) > 0; };
  switch (type) {
    case ZkWatcherType::kData: return has(WatchKind::kData) || has(WatchKind::kExist);
    case ZkWatcherType::kChildren: return has(WatchKind::kChild);
    case ZkWatcherType::kAny:
      for (int i = 0; i < kNumWatchKinds; ++i)
        if (has(static_cast<WatchKind>(i))) return true;
      return false;
  }
  return false;
}

bool WatchRegistry::empty() const {
  for (const auto& m : by_kind_)
    if (!m.empty()) return false;
  return true;
}

std::vector<SetWatches2> WatchRegistry::SetWatchesBatches(int64_t relative_zxid, size_t max_bytes) const {
  std::vector<SetWatches2> out;
  SetWatches2 cur;
  cur.relative_zxid = relative_zxid;
  size_t bytes = 0;
  bool any = false;
  auto list_of = [](SetWatches2& s, WatchKind k) -> std::vector<std::string>& {
    switch (k) {
      case WatchKind::kData: return s.data_watches;
      case WatchKind::kExist: return s.exist_watches;
      case WatchKind::kChild: return s.child_watches;
      case WatchKind::kPersistent: return s.persistent_watches;
      case WatchKind::kPersistentRecursive: return s.persistent_recursive_watches;
    }
    return s.data_watches;
  };
  for (int i = 0; i < kNumWatchKinds; ++i) {
    auto kind = static_cast<WatchKind>(i);
    for (const auto& [path, ws] : by_kind_[i]) {
      if (ws.empty()) continue;
      size_t cost = path.size() + 4;  // the string and its length
      if (any && bytes + cost > max_bytes) {
        out.push_back(std::move(cur));
        cur = SetWatches2{};
        cur.relative_zxid = relative_zxid;
        bytes = 0;
        any = false;
      }
      list_of(cur, kind).push_back(path);
      bytes += cost;
      any = true;
    }
  }
  if (any) out.push_back(std::move(cur));
  return out;
}

}  // namespace dougong::zk::client
