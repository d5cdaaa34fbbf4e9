// Bytes: an immutable, reference-counted view of bytes. Slices share the
// owner, so payloads (RPC attachments) move from the read buffer to the write
// queue without being copied.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace dougong {

class Bytes {
 public:
  Bytes() = default;
  Bytes(std::shared_ptr<const void> owner, const char* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  static Bytes Copy(std::string_view s) {
    auto block = std::shared_ptr<char[]>(new char[s.size() ? s.size() : 1]);
    if (!s.empty()) std::memcpy(block.get(), s.data(), s.size());
    const char* p = block.get();
    return Bytes(std::move(block), p, s.size());
  }
  static Bytes FromString(std::string s) {
    auto owner = std::make_shared<const std::string>(std::move(s));
    const char* p = owner->data();
    size_t n = owner->size();
    return Bytes(std::move(owner), p, n);
  }

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }
  std::string ToString() const { return std::string(view()); }

  // A view of [offset, offset+len) sharing the same owner; clamps to size().
  Bytes Slice(size_t offset, size_t len) const {
    if (offset > size_) offset = size_;
    if (len > size_ - offset) len = size_ - offset;
    return Bytes(owner_, data_ + offset, len);
  }

 private:
  std::shared_ptr<const void> owner_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace dougong
