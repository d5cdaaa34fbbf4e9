#include "keeper/znode.h"

#include <new>

namespace dougong::keeper {

void NodeData::Assign(std::string_view bytes) {
  char* p = nullptr;
  if (!bytes.empty()) {
    p = static_cast<char*>(std::malloc(bytes.size()));
    if (p == nullptr) throw std::bad_alloc();  // as std::string would
    std::memcpy(p, bytes.data(), bytes.size());
  }
  std::free(ptr_);
  ptr_ = p;
  size_ = static_cast<uint32_t>(bytes.size());
}

ZNodePtr ZNode::New(std::string_view path) {
  void* mem = ::operator new(sizeof(ZNode) + path.size());
  ZNode* n = new (mem) ZNode(static_cast<uint32_t>(path.size()));
  std::memcpy(reinterpret_cast<char*>(n) + sizeof(ZNode), path.data(), path.size());
  return ZNodePtr(n);
}

void ZNodeDeleter::operator()(ZNode* n) const {
  n->~ZNode();
  ::operator delete(n);
}

void ZNode::AddChild(ZNode* child) {
  child->prev_sibling = nullptr;
  child->next_sibling = first_child;
  if (first_child != nullptr) first_child->prev_sibling = child;
  first_child = child;
  ++num_children;
}

void ZNode::RemoveChild(ZNode* child) {
  if (child->prev_sibling != nullptr) {
    child->prev_sibling->next_sibling = child->next_sibling;
  } else {
    first_child = child->next_sibling;
  }
  if (child->next_sibling != nullptr) child->next_sibling->prev_sibling = child->prev_sibling;
  child->prev_sibling = child->next_sibling = nullptr;
  --num_children;
}

}  // namespace dougong::keeper
