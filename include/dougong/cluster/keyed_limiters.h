// KeyedLimiters<L>: one limiter per key (per caller, per method), made on
// first use, in a map of bounded size. Callers come and go and a client can
// invent caller names, so the map forgets the least recently used key when
// full rather than grow without end; a forgotten caller starts again with a
// fresh limiter (for a rate limiter: a full bucket), which is the price of
// the bound.
//
//   KeyedLimiters<RateLimiter> per_caller(10000, [&] {
//     return std::make_shared<RateLimiter>(options, clock);
//   });
//   if (!per_caller.Get(caller)->TryAcquire()) reject;
//
// Get() returns a shared_ptr, so a limiter evicted while in use (say a
// ConcurrencyLimiter with permits out) lives until its last user lets go.
// Thread-safe: one mutex around the map and the recency list; the limiter
// itself is used outside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace dougong::cluster {

template <class L>
class KeyedLimiters {
 public:
  using Factory = std::function<std::shared_ptr<L>()>;

  // max_keys >= 1.
  KeyedLimiters(size_t max_keys, Factory factory)
      : max_keys_(max_keys == 0 ? 1 : max_keys), factory_(std::move(factory)) {}

  std::shared_ptr<L> Get(std::string_view key) {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);  // most recent first
      return it->second->second;
    }
    if (index_.size() >= max_keys_) {
      index_.erase(std::string_view(lru_.back().first));
      lru_.pop_back();
      ++evictions_;
    }
    lru_.emplace_front(std::string(key), factory_());
    // The key's string lives in the list node, which never moves.
    index_.emplace(std::string_view(lru_.front().first), lru_.begin());
    return lru_.front().second;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return index_.size();
  }
  uint64_t evictions() const {
    std::lock_guard lock(mu_);
    return evictions_;
  }
  size_t max_keys() const { return max_keys_; }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<L>>;

  const size_t max_keys_;
  const Factory factory_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
  uint64_t evictions_ = 0;
};

}  // namespace dougong::cluster
