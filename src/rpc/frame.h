// The native protocol's framing (docs/protocol.md): a 20-byte header, then
// meta (RpcMeta protobuf), body (the method's message, maybe compressed) and
// attachment (opaque bytes), each sized by the header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dougong/base/bytes.h"
#include "dougong/base/status.h"

namespace google::protobuf {
class MessageLite;
}

namespace dougong::rpc {

namespace wire {
class RpcMeta;
}

inline constexpr size_t kFrameHeaderSize = 20;
inline constexpr char kMagic0 = 'D';
inline constexpr char kMagic1 = 'G';
inline constexpr uint8_t kProtocolVersion = 1;

enum class FrameType : uint8_t {
  kRequest = 1,
  kResponse = 2,
  kCancel = 3,
  kPing = 4,
  kPong = 5,
  kGoAway = 6,
};

struct FrameHeader {
  FrameType type = FrameType::kRequest;
  uint16_t flags = 0;
  uint32_t meta_size = 0;
  uint32_t body_size = 0;
  uint32_t attachment_size = 0;
  uint64_t total_size() const {
    return kFrameHeaderSize + uint64_t{meta_size} + body_size + attachment_size;
  }
};

void EncodeFrameHeader(const FrameHeader& header, char* out);
// Validates magic, version, type, reserved bits and the total size against
// `max_frame_size` before anything is allocated for the frame.
Status DecodeFrameHeader(const char* in, size_t max_frame_size, FrameHeader* out);
// True if `prefix` (any length) is consistent with a native frame's magic.
bool LooksLikeNativeFrame(std::string_view prefix);

struct Frame {
  FrameHeader header;
  Bytes meta;
  Bytes body;
  Bytes attachment;
};

// Incremental decoder over an owned, reference-counted read buffer: frames
// come out as slices of the blocks the bytes were read into, so attachments
// are never copied.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_size, size_t block_size = 64 * 1024);

  // Space to read into (never empty), then Commit(bytes read).
  std::span<char> WritableSpace();
  void Commit(size_t n);
  // Copies bytes in (for bytes already read elsewhere, e.g. while sniffing).
  void Append(std::string_view bytes);

  enum class Result { kFrame, kNeedMore, kError };
  Result Next(Frame* frame, Status* error);

  // Bytes of an incomplete frame currently held.
  size_t buffered() const { return end_ - start_; }
  std::string_view buffered_bytes() const {
    return block_ ? std::string_view(block_.get() + start_, end_ - start_) : std::string_view();
  }

 private:
  void Grow(size_t contiguous);
  size_t max_frame_size_;
  size_t block_size_;
  std::shared_ptr<char[]> block_;
  size_t capacity_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
  size_t pending_total_ = 0;  // size of the incomplete frame at start_, once known
  bool failed_ = false;
};

// A frame ready to write: header, meta and body in one contiguous string,
// the attachment by reference (written with writev, uncopied).
struct OutgoingFrame {
  std::string head;
  Bytes attachment;
};

// Serializes `meta` and `body` (compressed as meta.compression() says) into
// out->head. Fails with RESOURCE_EXHAUSTED beyond `max_frame_size`.
Status BuildFrame(FrameType type, const wire::RpcMeta& meta,
                  const google::protobuf::MessageLite* body, Bytes attachment,
                  size_t max_frame_size, OutgoingFrame* out);
// A frame with meta only (cancel, ping, pong, go-away).
OutgoingFrame BuildControlFrame(FrameType type, const wire::RpcMeta* meta);

// Parses a frame body into `message`, decompressing it first if needed.
Status ParseBody(const Frame& frame, int compression, size_t max_size,
                 google::protobuf::MessageLite* message);

}  // namespace dougong::rpc
