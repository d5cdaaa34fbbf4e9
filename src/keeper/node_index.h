// The data tree's nodes by path: an open-addressing hash table (linear
// probing, backward-shift deletion, load at most 3/4) of node pointers. Each
// slot keeps 16 bits of the path's hash next to the pointer, so a lookup
// reads another node only when those bits match: about one cache miss per
// hit. It owns the nodes. 8 bytes a slot, against ~56 bytes of
// std::unordered_map overhead per node (bucket, list node, key string).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "keeper/znode.h"

namespace dougong::keeper {

class NodeIndex {
 public:
  NodeIndex() = default;
  ~NodeIndex() { Clear(); }
  NodeIndex(const NodeIndex&) = delete;
  NodeIndex& operator=(const NodeIndex&) = delete;

  ZNode* Find(std::string_view path) const;
  // Takes `node` and returns it, or returns nullptr (leaving `node` to the
  // caller) if a node with its path is present.
  ZNode* Insert(ZNodePtr&& node);
  // Removes `node` (which must be present) and hands it back.
  ZNodePtr Extract(ZNode* node);

  size_t size() const { return size_; }
  // Room for `n` nodes without growing.
  void Reserve(size_t n);
  // Destroys every node.
  void Clear();

  template <class F>
  void ForEach(F&& f) const {
    for (uint64_t s : slots_) {
      if (s != 0) f(*NodeOf(s));
    }
  }

 private:
  static constexpr int kTagShift = 48;
  static ZNode* NodeOf(uint64_t slot) {
    return reinterpret_cast<ZNode*>(slot & ((uint64_t{1} << kTagShift) - 1));
  }
  static uint64_t TagOf(uint64_t hash) { return hash >> kTagShift; }
  static uint64_t SlotOf(ZNode* node, uint64_t hash);
  void Rehash(size_t capacity);
  size_t FindSlot(std::string_view path, uint64_t hash) const;  // index, or capacity if absent

  std::vector<uint64_t> slots_;  // 0 = empty; else tag << 48 | pointer
  size_t size_ = 0;
  size_t mask_ = 0;
};

}  // namespace dougong::keeper
