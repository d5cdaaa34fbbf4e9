#include "keeper/watch_manager.h"

#include <algorithm>

namespace dougong::keeper {

bool WatchManager::AddWatch(std::string_view path, int64_t session, WatcherMode mode) {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) it = by_path_.emplace(std::string(path), Watchers{}).first;
  auto [w, inserted] = it->second.emplace(session, mode);
  if (!inserted) {
    if (w->second == WatcherMode::kPersistentRecursive) --recursive_count_;
    w->second = mode;
  }
  if (mode == WatcherMode::kPersistentRecursive) ++recursive_count_;
  return by_session_[session].emplace(path).second;
}

std::vector<int64_t> WatchManager::Trigger(std::string_view path, zk::EventType type,
                                           const std::vector<int64_t>* suppress) {
  std::vector<int64_t> out;
  auto visit = [&](std::string_view local, bool at_parent) {
    auto it = by_path_.find(local);
    if (it == by_path_.end()) return;
    Watchers& ws = it->second;
    for (auto w = ws.begin(); w != ws.end();) {
      if (w->second == WatcherMode::kPersistentRecursive) {
        if (type != zk::EventType::kNodeChildrenChanged) out.push_back(w->first);
      } else if (!at_parent) {
        out.push_back(w->first);
        if (w->second == WatcherMode::kStandard) {
          auto s = by_session_.find(w->first);
          if (s != by_session_.end()) {
            s->second.erase(std::string(local));
            if (s->second.empty()) by_session_.erase(s);
          }
          w = ws.erase(w);
          continue;
        }
      }
      ++w;
    }
    if (ws.empty()) by_path_.erase(it);
  };
  visit(path, false);
  if (recursive_count_ > 0 && path != "/") {
    std::string_view p = path;
    while (true) {
      size_t slash = p.rfind('/');
      if (slash == std::string_view::npos) break;
      p = slash == 0 ? std::string_view("/") : p.substr(0, slash);
      visit(p, true);
      if (p == "/") break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (suppress != nullptr && !suppress->empty()) {
    std::erase_if(out, [&](int64_t s) { return std::binary_search(suppress->begin(), suppress->end(), s); });
  }
  return out;
}

bool WatchManager::Contains(std::string_view path, int64_t session) const {
  auto it = by_path_.find(path);
  if (it != by_path_.end() && it->second.count(session)) return true;
  if (recursive_count_ == 0 || path == "/") return false;
  std::string_view p = path;
  while (true) {
    size_t slash = p.rfind('/');
    if (slash == std::string_view::npos) return false;
    p = slash == 0 ? std::string_view("/") : p.substr(0, slash);
    auto pit = by_path_.find(p);
    if (pit != by_path_.end()) {
      auto w = pit->second.find(session);
      if (w != pit->second.end() && w->second == WatcherMode::kPersistentRecursive) return true;
    }
    if (p == "/") return false;
  }
}

bool WatchManager::Remove(std::string_view path, int64_t session) {
  auto s = by_session_.find(session);
  if (s == by_session_.end()) return false;
  auto sp = s->second.find(std::string(path));
  if (sp == s->second.end()) return false;
  s->second.erase(sp);
  if (s->second.empty()) by_session_.erase(s);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return false;
  auto w = it->second.find(session);
  if (w == it->second.end()) return false;
  if (w->second == WatcherMode::kPersistentRecursive) --recursive_count_;
  it->second.erase(w);
  if (it->second.empty()) by_path_.erase(it);
  return true;
}

void WatchManager::RemoveSession(int64_t session) {
  auto s = by_session_.find(session);
  if (s == by_session_.end()) return;
  for (const std::string& p : s->second) {
    auto it = by_path_.find(p);
    if (it == by_path_.end()) continue;
    auto w = it->second.find(session);
    if (w != it->second.end()) {
      if (w->second == WatcherMode::kPersistentRecursive) --recursive_count_;
      it->second.erase(w);
    }
    if (it->second.empty()) by_path_.erase(it);
  }
  by_session_.erase(s);
}

std::vector<std::string> WatchManager::PathsOf(int64_t session) const {
  std::vector<std::string> out;
  auto s = by_session_.find(session);
  if (s != by_session_.end()) out.assign(s->second.begin(), s->second.end());
  std::sort(out.begin(), out.end());
  return out;
}

size_t WatchManager::watch_count() const {
  size_t n = 0;
  for (const auto& [p, ws] : by_path_) n += ws.size();
  return n;
}

}  // namespace dougong::keeper
