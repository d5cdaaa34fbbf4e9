#include "rpc/frame.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "dougong/rpc/types.h"
#include "dougong/rpc/meta.pb.h"  // generated from proto/
#include "rpc/compression.h"

namespace dougong::rpc {

namespace {

void PutU16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}
void PutU32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}
uint16_t GetU16(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
uint32_t GetU32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// Frames up to this size get a block of their exact size at once; larger
// ones grow by doubling, so a peer that announces a huge frame and sends
// nothing more makes us hold little.
constexpr size_t kEagerFrameSize = 4u << 20;
constexpr size_t kMinReadSpace = 4096;

}  // namespace

void EncodeFrameHeader(const FrameHeader& h, char* out) {
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[2] = static_cast<char>(kProtocolVersion);
  out[3] = static_cast<char>(h.type);
  PutU16(out + 4, h.flags);
  PutU16(out + 6, 0);
  PutU32(out + 8, h.meta_size);
  PutU32(out + 12, h.body_size);
  PutU32(out + 16, h.attachment_size);
}

Status DecodeFrameHeader(const char* in, size_t max_frame_size, FrameHeader* out) {
  if (in[0] != kMagic0 || in[1] != kMagic1)
    return InvalidArgument("not a dougong frame: bad magic");
  if (static_cast<uint8_t>(in[2]) != kProtocolVersion)
    return InvalidArgument(fmt::format("unsupported protocol version {}", static_cast<uint8_t>(in[2])));
  uint8_t type = static_cast<uint8_t>(in[3]);
  if (type < static_cast<uint8_t>(FrameType::kRequest) || type > static_cast<uint8_t>(FrameType::kGoAway))
    return InvalidArgument(fmt::format("unknown frame type {}", type));
  if (GetU16(in + 6) != 0) return InvalidArgument("reserved header bytes must be zero");
  out->type = static_cast<FrameType>(type);
  out->flags = GetU16(in + 4);
  out->meta_size = GetU32(in + 8);
  out->body_size = GetU32(in + 12);
  out->attachment_size = GetU32(in + 16);
  if (out->total_size() > max_frame_size)
    return ResourceExhausted(fmt::format("frame of {} bytes exceeds the maximum frame size {}",
                                         out->total_size(), max_frame_size));
  return {};
}

bool LooksLikeNativeFrame(std::string_view prefix) {
  // The magic alone decides (no HTTP method starts with "DG"), so a frame of
  // another version gets the native error, not an HTTP 400.
  const char expect[2] = {kMagic0, kMagic1};
  size_t n = std::min<size_t>(prefix.size(), 2);
  return n == 0 || std::memcmp(prefix.data(), expect, n) == 0;
}

FrameReader::FrameReader(size_t max_frame_size, size_t block_size)
    : max_frame_size_(max_frame_size), block_size_(std::max<size_t>(block_size, kMinReadSpace)) {}

void FrameReader::Grow(size_t contiguous) {
  // Bytes before start_ may still be referenced by frames handed out, so we
  // never write over them: the unconsumed tail moves to a new block.
  size_t size = std::max(contiguous, block_size_);
  std::shared_ptr<char[]> fresh(new char[size]);
  size_t held = end_ - start_;
  if (held) std::memcpy(fresh.get(), block_.get() + start_, held);
  block_ = std::move(fresh);
  capacity_ = size;
  start_ = 0;
  end_ = held;
}

std::span<char> FrameReader::WritableSpace() {
  if (block_ && start_ == end_ && block_.use_count() == 1) start_ = end_ = 0;
  size_t free = block_ ? capacity_ - end_ : 0;
  bool frame_fits = pending_total_ != 0 && capacity_ - start_ >= pending_total_;
  if (free == 0 || (!frame_fits && free < kMinReadSpace)) Grow(end_ - start_ + kMinReadSpace);
  return {block_.get() + end_, capacity_ - end_};
}

void FrameReader::Commit(size_t n) { end_ += n; }

void FrameReader::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    auto space = WritableSpace();
    size_t n = std::min(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), n);
    Commit(n);
    bytes.remove_prefix(n);
  }
}

FrameReader::Result FrameReader::Next(Frame* frame, Status* error) {
  if (failed_) {
    *error = InvalidArgument("frame stream already failed");
    return Result::kError;
  }
  size_t held = end_ - start_;
  if (held < kFrameHeaderSize) return Result::kNeedMore;
  const char* p = block_.get() + start_;
  FrameHeader h;
  if (Status st = DecodeFrameHeader(p, max_frame_size_, &h); !st.ok()) {
    failed_ = true;
    *error = std::move(st);
    return Result::kError;
  }
  uint64_t total = h.total_size();
  if (held < total) {
    // Make room for the whole frame (or the next doubling of it).
    size_t want = total <= kEagerFrameSize ? total : std::min<uint64_t>(total, held * 2 + block_size_);
    pending_total_ = total;
    if (capacity_ - start_ < want) Grow(want);
    return Result::kNeedMore;
  }
  pending_total_ = 0;
  frame->header = h;
  size_t off = start_ + kFrameHeaderSize;
  const char* base = block_.get();
  auto owner = std::shared_ptr<const void>(block_, base);
  frame->meta = Bytes(owner, base + off, h.meta_size);
  off += h.meta_size;
  frame->body = Bytes(owner, base + off, h.body_size);
  off += h.body_size;
  frame->attachment = h.attachment_size ? Bytes(std::move(owner), base + off, h.attachment_size) : Bytes();
  start_ += total;
  return Result::kFrame;
}

Status BuildFrame(FrameType type, const wire::RpcMeta& meta,
                  const google::protobuf::MessageLite* body, Bytes attachment,
                  size_t max_frame_size, OutgoingFrame* out) {
  size_t meta_size = meta.ByteSizeLong();
  auto compression = static_cast<Compression>(meta.compression());
  std::string& head = out->head;
  head.clear();
  size_t body_size = 0;
  if (compression == Compression::kNone || body == nullptr) {
    body_size = body ? body->ByteSizeLong() : 0;
    uint64_t total = kFrameHeaderSize + uint64_t{meta_size} + body_size + attachment.size();
    if (total > max_frame_size)
      return ResourceExhausted(fmt::format("frame of {} bytes exceeds the maximum frame size {}", total,
                                           max_frame_size));
    head.resize(kFrameHeaderSize + meta_size + body_size);
    auto* p = reinterpret_cast<uint8_t*>(head.data()) + kFrameHeaderSize;
    meta.SerializeWithCachedSizesToArray(p);
    if (body) body->SerializeWithCachedSizesToArray(p + meta_size);
  } else {
    std::string plain;
    if (!body->SerializeToString(&plain)) return Internal("failed to serialize message");
    head.resize(kFrameHeaderSize + meta_size);
    meta.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(head.data()) + kFrameHeaderSize);
    if (Status st = Compress(compression, plain, &head); !st.ok()) return st;
    body_size = head.size() - kFrameHeaderSize - meta_size;
    uint64_t total = head.size() + uint64_t{attachment.size()};
    if (total > max_frame_size)
      return ResourceExhausted(fmt::format("frame of {} bytes exceeds the maximum frame size {}", total,
                                           max_frame_size));
  }
  FrameHeader h;
  h.type = type;
  h.meta_size = static_cast<uint32_t>(meta_size);
  h.body_size = static_cast<uint32_t>(body_size);
  h.attachment_size = static_cast<uint32_t>(attachment.size());
  EncodeFrameHeader(h, head.data());
  out->attachment = std::move(attachment);
  return {};
}

OutgoingFrame BuildControlFrame(FrameType type, const wire::RpcMeta* meta) {
  OutgoingFrame out;
  wire::RpcMeta empty;
  // Control frames are small and never exceed any sane limit.
  (void)BuildFrame(type, meta ? *meta : empty, nullptr, Bytes(), SIZE_MAX, &out);
  return out;
}

Status ParseBody(const Frame& frame, int compression, size_t max_size,
                 google::protobuf::MessageLite* message) {
  if (!IsValidCompression(compression))
    return InvalidArgument(fmt::format("unknown compression {}", compression));
  if (compression == static_cast<int>(Compression::kNone)) {
    if (!message->ParseFromArray(frame.body.data(), static_cast<int>(frame.body.size())))
      return InvalidArgument(fmt::format("body is not a valid {}", message->GetTypeName()));
    return {};
  }
  std::string plain;
  if (Status st = Decompress(static_cast<Compression>(compression), frame.body.view(), max_size, &plain);
      !st.ok())
    return st;
  if (!message->ParseFromString(plain))
    return InvalidArgument(fmt::format("body is not a valid {}", message->GetTypeName()));
  return {};
}

}  // namespace dougong::rpc
