#include "keeper/node_index.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>

#include "base/hash.h"

namespace dougong::keeper {

uint64_t NodeIndex::SlotOf(ZNode* node, uint64_t hash) {
  auto p = reinterpret_cast<uint64_t>(node);
  // User-space pointers fit in 48 bits on x86-64 and arm64 (without
  // 5-level paging, which hands out higher addresses only on request).
  if ((p >> kTagShift) != 0) {
    std::fprintf(stderr, "keeper: node pointer %p does not fit in 48 bits\n", static_cast<void*>(node));
    std::abort();
  }
  return (TagOf(hash) << kTagShift) | p;
}

size_t NodeIndex::FindSlot(std::string_view path, uint64_t hash) const {
  if (slots_.empty()) return 0;
  const uint64_t tag = TagOf(hash);
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    uint64_t s = slots_[i];
    if (s == 0) return slots_.size();
    if ((s >> kTagShift) == tag && NodeOf(s)->path() == path) return i;
  }
}

ZNode* NodeIndex::Find(std::string_view path) const {
  size_t i = FindSlot(path, HashBytes(path));
  return i < slots_.size() ? NodeOf(slots_[i]) : nullptr;
}

ZNode* NodeIndex::Insert(ZNodePtr&& node) {
  if ((size_ + 1) * 4 > slots_.size() * 3) Rehash(std::max<size_t>(16, slots_.size() * 2));
  uint64_t hash = HashBytes(node->path());
  if (FindSlot(node->path(), hash) < slots_.size()) return nullptr;
  size_t i = hash & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = SlotOf(node.get(), hash);
  ++size_;
  return node.release();
}

ZNodePtr NodeIndex::Extract(ZNode* node) {
  size_t i = FindSlot(node->path(), HashBytes(node->path()));
  if (i >= slots_.size()) return nullptr;
  slots_[i] = 0;
  --size_;
  // Backward shift: pull later entries of the probe run into the gap when
  // the gap lies between their home slot and where they sit.
  for (size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    size_t home = HashBytes(NodeOf(slots_[j])->path()) & mask_;
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      slots_[i] = slots_[j];
      slots_[j] = 0;
      i = j;
    }
  }
  return ZNodePtr(node);
}

void NodeIndex::Reserve(size_t n) {
  size_t capacity = 16;
  while (n * 4 > capacity * 3) capacity *= 2;
  if (capacity > slots_.size()) Rehash(capacity);
}

void NodeIndex::Rehash(size_t capacity) {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
  for (uint64_t s : old) {
    if (s == 0) continue;
    ZNode* n = NodeOf(s);
    size_t i = HashBytes(n->path()) & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = s;  // the tag does not depend on the capacity
  }
}

void NodeIndex::Clear() {
  ZNodeDeleter del;
  for (uint64_t& s : slots_) {
    if (s != 0) del(NodeOf(s));
    s = 0;
  }
  size_ = 0;
}

}  // namespace dougong::keeper
