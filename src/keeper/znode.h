// One znode as the data tree stores it: its stat, intrusive links to its
// children, its data and its path. The node and its path share one
// allocation; the data has its own (setData replaces it without moving the
// node, so views of the path stay valid for the node's life). With 1M nodes
// of 100 bytes this is ~260 bytes a node where std::unordered_map +
// std::set cost ~400 (docs/keeper.md, "Memory and restart").
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace dougong::keeper {

// Owned bytes, malloc'ed to their exact size (none when empty).
class NodeData {
 public:
  NodeData() = default;
  explicit NodeData(std::string_view bytes) { Assign(bytes); }
  NodeData(const NodeData&) = delete;
  NodeData& operator=(const NodeData&) = delete;
  NodeData(NodeData&& o) noexcept : ptr_(o.ptr_), size_(o.size_) { o.ptr_ = nullptr, o.size_ = 0; }
  NodeData& operator=(NodeData&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~NodeData() { std::free(ptr_); }

  void Assign(std::string_view bytes);
  std::string_view view() const { return {ptr_, size_}; }
  size_t size() const { return size_; }

 private:
  char* ptr_ = nullptr;
  uint32_t size_ = 0;  // at most jute.maxbuffer
};

struct ZNode;
struct ZNodeDeleter {
  void operator()(ZNode* n) const;
};
using ZNodePtr = std::unique_ptr<ZNode, ZNodeDeleter>;

struct ZNode {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t pzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int64_t ephemeral_owner = 0;
  int32_t version = 0;
  int32_t cversion = 0;  // child creates (clients see 2 * cversion - children)
  int32_t aversion = 0;
  uint32_t acl_id : 31 = 0;
  uint32_t data_null : 1 = 0;
  // Children: a doubly linked list, newest first. O(1) add and remove with
  // no allocation; getChildren sorts the names it returns.
  ZNode* first_child = nullptr;
  ZNode* next_sibling = nullptr;
  ZNode* prev_sibling = nullptr;
  NodeData data;
  uint32_t num_children = 0;
  const uint32_t path_size;
  // the path's bytes follow

  static ZNodePtr New(std::string_view path);

  std::string_view path() const { return {reinterpret_cast<const char*>(this + 1), path_size}; }
  // "/a/b" -> "b"; "/" -> "".
  std::string_view name() const {
    std::string_view p = path();
    return p.substr(p.rfind('/') + 1);
  }

  void AddChild(ZNode* child);
  void RemoveChild(ZNode* child);

 private:
  explicit ZNode(uint32_t size) : path_size(size) {}
};
static_assert(sizeof(ZNode) % alignof(ZNode) == 0);

}  // namespace dougong::keeper
