#include "zk/jute.h"

#include <cstring>

namespace dougong::zk::jute {

void PutInt32(char* p, int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  p[0] = static_cast<char>(u >> 24);
  p[1] = static_cast<char>(u >> 16);
  p[2] = static_cast<char>(u >> 8);
  p[3] = static_cast<char>(u);
}

int32_t GetInt32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<int32_t>((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
                              uint32_t{b[3]});
}

Status Reader::Need(size_t n) const {
  if (remaining() >= n) return Status::Ok();
  return Status(Code::kDataLoss, "truncated record at offset " + std::to_string(pos_) + ": need " +
                                     std::to_string(n) + " bytes, " + std::to_string(remaining()) + " left");
}

Status Reader::ReadInt(int32_t* out) {
  if (Status s = Need(4); !s.ok()) return s;
  *out = GetInt32(data_.data() + pos_);
  pos_ += 4;
  return Status::Ok();
}

Status Reader::ReadLong(int64_t* out) {
  if (Status s = Need(8); !s.ok()) return s;
  const auto* b = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | b[i];
  *out = static_cast<int64_t>(u);
  pos_ += 8;
  return Status::Ok();
}

Status Reader::ReadBool(bool* out) {
  if (Status s = Need(1); !s.ok()) return s;
  *out = data_[pos_] != 0;
  pos_ += 1;
  return Status::Ok();
}

// -1 is null; other negatives and lengths over the limit are refused before
// anything is allocated. The check against the bytes left is the caller's
// (strings need `len` bytes, vectors at least `len`).
Status Reader::ReadLength(const char* what, int32_t* out, bool* is_null) {
  size_t at = pos_;
  int32_t len = 0;
  if (Status s = ReadInt(&len); !s.ok()) return s;
  *is_null = len == -1;
  if (*is_null) {
    *out = 0;
    return Status::Ok();
  }
  if (len < 0) {
    return InvalidArgument("negative " + std::string(what) + " " + std::to_string(len) + " at offset " +
                           std::to_string(at));
  }
  if (len > max_length_) {
    return InvalidArgument(std::string(what) + " " + std::to_string(len) + " at offset " + std::to_string(at) +
                           " exceeds limit " + std::to_string(max_length_));
  }
  *out = len;
  return Status::Ok();
}

Status Reader::ReadBytesView(std::string_view* out, bool* is_null) {
  int32_t len = 0;
  if (Status s = ReadLength("length", &len, is_null); !s.ok()) return s;
  if (Status s = Need(static_cast<size_t>(len)); !s.ok()) return s;
  *out = data_.substr(pos_, static_cast<size_t>(len));
  pos_ += static_cast<size_t>(len);
  return Status::Ok();
}

Status Reader::ReadBytes(std::string* out, bool* is_null) {
  std::string_view v;
  if (Status s = ReadBytesView(&v, is_null); !s.ok()) return s;
  out->assign(v);
  return Status::Ok();
}

Status Reader::ReadCount(int32_t* out, bool* is_null) {
  if (Status s = ReadLength("vector count", out, is_null); !s.ok()) return s;
  if (static_cast<size_t>(*out) > remaining()) {
    return Status(Code::kDataLoss, "truncated record at offset " + std::to_string(pos_) + ": vector of " +
                                       std::to_string(*out) + " elements, " + std::to_string(remaining()) +
                                       " bytes left");
  }
  return Status::Ok();
}

void Writer::WriteInt(int32_t v) {
  char b[4];
  PutInt32(b, v);
  out_->append(b, 4);
}

void Writer::WriteLong(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  out_->append(b, 8);
}

void Writer::WriteBytes(std::string_view b) {
  WriteInt(static_cast<int32_t>(b.size()));
  out_->append(b.data(), b.size());
}

}  // namespace dougong::zk::jute
