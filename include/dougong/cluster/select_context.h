// What a balancer knows about the call it picks a provider for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dougong::cluster {

// Indices (into one ProviderSet) of the providers not to pick: those a
// failing call already tried, so a retry goes elsewhere while anything else
// is left. Indices are only meaningful for the snapshot they came from, which
// is why a call keeps one ProviderSet for all its attempts.
class ExclusionSet {
 public:
  void Add(size_t index) {
    if (index / 64 >= words_.size()) words_.resize(index / 64 + 1, 0);
    uint64_t& w = words_[index / 64];
    if (!(w & Bit(index))) ++count_;
    w |= Bit(index);
  }
  bool Contains(size_t index) const {
    return index / 64 < words_.size() && (words_[index / 64] & Bit(index)) != 0;
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void Clear() {
    words_.clear();
    count_ = 0;
  }

 private:
  static uint64_t Bit(size_t index) { return uint64_t{1} << (index % 64); }

  std::vector<uint64_t> words_;
  size_t count_ = 0;
};

struct SelectContext {
  // The request's affinity key (user id, session, cache key): consistent
  // hash maps it to a provider. Empty: the balancer ignores it.
  std::string_view hash_key;
  // Providers already tried by this call; null: none.
  const ExclusionSet* excluded = nullptr;
  // The caller's own zone and host, for locality-first balancing.
  std::string_view zone;
  std::string_view host;

  bool IsExcluded(size_t index) const { return excluded != nullptr && excluded->Contains(index); }
};

}  // namespace dougong::cluster
