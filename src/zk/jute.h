// Jute, ZooKeeper's binary record encoding (org.apache.jute.Binary*Archive):
// the primitives. Records built from them are in record.h / records.h; the
// rules are summarised in docs/zk_wire.md.
//
//   int      4 bytes, big-endian two's complement
//   long     8 bytes, big-endian two's complement
//   boolean  1 byte (written 0/1; any non-zero byte reads as true, as Java's
//            DataInput.readBoolean does)
//   ustring, buffer
//            int length, then that many bytes; length -1 means null
//   vector   int count, then the elements; count -1 means null
//
// The Reader never reads past the end of its input and checks every length
// against both the bytes that are left and a configurable limit before it
// allocates, so a hostile length costs nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dougong/base/status.h"

namespace dougong::zk::jute {

// ZooKeeper's default jute.maxbuffer: 0xfffff bytes (1 MiB - 1). It bounds a
// whole packet on the socket, and here also any single ustring, buffer or
// vector count.
inline constexpr int32_t kDefaultMaxBuffer = 0xfffff;

// jute `buffer`: opaque bytes. ZooKeeper tells a null buffer (length -1,
// e.g. a znode created with null data, whose getData returns -1) from an
// empty one, so the distinction is kept; a default Buffer is empty, not null.
struct Buffer {
  std::string bytes;
  bool is_null = false;

  Buffer() = default;
  Buffer(std::string b) : bytes(std::move(b)) {}  // NOLINT: implicit by design
  Buffer(std::string_view b) : bytes(b) {}        // NOLINT
  Buffer(const char* b) : bytes(b) {}             // NOLINT
  static Buffer Null() {
    Buffer b;
    b.is_null = true;
    return b;
  }
  bool operator==(const Buffer&) const = default;
};

// Reads primitives from a byte span it does not own. Errors:
//   DATA_LOSS         "truncated record at offset N: ..." (input ended)
//   INVALID_ARGUMENT  "negative length N at offset M",
//                     "length N at offset M exceeds limit L"
// After an error the Reader's position is unspecified; drop it.
class Reader {
 public:
  explicit Reader(std::string_view data, int32_t max_length = kDefaultMaxBuffer)
      : data_(data), max_length_(max_length) {}

  Status ReadInt(int32_t* out);
  Status ReadLong(int64_t* out);
  Status ReadBool(bool* out);
  // ustring and buffer: *is_null is set for length -1 (and *out cleared).
  Status ReadBytes(std::string* out, bool* is_null);
  // The same, as a view into the reader's input (no copy).
  Status ReadBytesView(std::string_view* out, bool* is_null);
  // A vector count: -1 sets *is_null; otherwise 0 <= count <= max_length and
  // count <= remaining() (every element takes at least one byte), so a
  // count can be trusted to bound a loop.
  Status ReadCount(int32_t* out, bool* is_null);

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  int32_t max_length() const { return max_length_; }
  // The unread bytes (e.g. a multi's ops after its request header).
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  Status Need(size_t n) const;
  Status ReadLength(const char* what, int32_t* out, bool* is_null);

  std::string_view data_;
  size_t pos_ = 0;
  int32_t max_length_;
};

// Appends primitives to a std::string it does not own.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void WriteInt(int32_t v);
  void WriteLong(int64_t v);
  void WriteBool(bool v) { out_->push_back(v ? '\1' : '\0'); }
  // Length, then the bytes. Sizes are the caller's to keep under the peer's
  // jute.maxbuffer (far below 2 GiB); the packet check refuses more anyway.
  void WriteBytes(std::string_view b);
  void WriteNull() { WriteInt(-1); }    // a null ustring, buffer or vector

  std::string* out() { return out_; }

 private:
  std::string* out_;
};

// Big-endian helpers, shared with the packet framing.
void PutInt32(char* p, int32_t v);
int32_t GetInt32(const char* p);

}  // namespace dougong::zk::jute
