// libFuzzer target: the native protocol's frame decoder (FrameReader) fed the
// way a connection feeds it, plus everything done to a decoded frame: meta
// and body parsing, decompression, and re-encoding.
//
// Input layout (so that a valid frame stream with a short prefix is a valid
// seed; see make_seeds.cpp):
//   byte 0       low 4 bits: k, the number of chunk-size bytes that follow;
//                bit 4: feed with Append() instead of WritableSpace()/Commit();
//                bits 5-6: read block size (4 KiB, 8 KiB, 64 KiB, 1 MiB).
//   bytes 1..k   chunk sizes, used in turn: b < 0x80 -> b + 1 bytes,
//                b >= 0x80 -> (b & 0x7f) * 1024 + 1 bytes. k == 0: one chunk.
//   the rest     the byte stream received from the peer.
//
// Checked invariants (beyond "no crash, leak or UB"):
//  * each decoded frame is exactly the next bytes of the stream (its header
//    re-encodes to the same 20 bytes, meta/body/attachment follow);
//  * a frame handed out is never modified afterwards, even while the reader
//    keeps receiving (frames are slices of the read blocks);
//  * after an error the reader stays failed;
//  * decompression output never exceeds the limit, and compressing then
//    decompressing gives back the input;
//  * a frame rebuilt with BuildFrame from a parsed meta decodes again.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "dougong/rpc/meta.pb.h"
#include "echo.pb.h"
#include "rpc/compression.h"
#include "rpc/frame.h"

namespace {

using dougong::Bytes;
using dougong::Status;
using namespace dougong::rpc;

constexpr size_t kMaxFrameSize = 1u << 20;  // keeps memory bounded
constexpr size_t kMaxDecompressed = 1u << 20;
constexpr size_t kBlockSizes[4] = {4096, 8192, 64 * 1024, 1u << 20};

#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                             \
    }                                                                      \
  } while (0)

// A decoded frame kept alive, with a private copy of its bytes.
struct Held {
  Frame frame;
  std::string meta, body, attachment;
};

void CheckUnchanged(const Held& h) {
  FUZZ_CHECK(h.frame.meta.view() == h.meta);
  FUZZ_CHECK(h.frame.body.view() == h.body);
  FUZZ_CHECK(h.frame.attachment.view() == h.attachment);
}

void ExerciseCompression(std::string_view body) {
  for (int c = 0; c <= 2; ++c) {
    auto type = static_cast<Compression>(c);
    std::string out;
    Status st = Decompress(type, body, kMaxDecompressed, &out);
    if (st.ok()) FUZZ_CHECK(out.size() <= kMaxDecompressed);
    // Round trip of the raw body through each compression.
    std::string packed;
    if (Compress(type, body, &packed).ok()) {
      std::string unpacked;
      Status rt = Decompress(type, packed, kMaxDecompressed, &unpacked);
      if (body.size() <= kMaxDecompressed) {
        FUZZ_CHECK(rt.ok());
        FUZZ_CHECK(unpacked == body);
      }
    }
  }
}

void Rebuild(const Frame& frame, const wire::RpcMeta& meta, const google::protobuf::MessageLite* body) {
  OutgoingFrame out;
  Status st = BuildFrame(frame.header.type, meta, body, frame.attachment, kMaxFrameSize, &out);
  if (!st.ok()) return;  // e.g. unknown compression, or too large once re-encoded
  FrameReader again(kMaxFrameSize);
  again.Append(out.head);
  again.Append(out.attachment.view());
  Frame f;
  Status err;
  FUZZ_CHECK(again.Next(&f, &err) == FrameReader::Result::kFrame);
  FUZZ_CHECK(f.header.type == frame.header.type);
  FUZZ_CHECK(f.attachment.view() == frame.attachment.view());
  wire::RpcMeta m2;
  FUZZ_CHECK(m2.ParseFromArray(f.meta.data(), static_cast<int>(f.meta.size())));
  if (body) {
    dougong::example::EchoRequest req;
    FUZZ_CHECK(ParseBody(f, meta.compression(), kMaxFrameSize, &req).ok());
  }
  FUZZ_CHECK(again.Next(&f, &err) == FrameReader::Result::kNeedMore);
}

void HandleFrame(const Frame& frame) {
  const FrameHeader& h = frame.header;
  FUZZ_CHECK(h.total_size() <= kMaxFrameSize);
  FUZZ_CHECK(frame.meta.size() == h.meta_size);
  FUZZ_CHECK(frame.body.size() == h.body_size);
  FUZZ_CHECK(frame.attachment.size() == h.attachment_size);

  wire::RpcMeta meta;
  bool meta_ok = meta.ParseFromArray(frame.meta.data(), static_cast<int>(frame.meta.size()));

  // The body as the server and client parse it, with the frame's own
  // compression and with every other value.
  int compressions[] = {meta_ok ? meta.compression() : 0, 0, 1, 2, 3, -1};
  dougong::example::EchoRequest req;
  bool req_ok = false;
  for (int c : compressions) {
    dougong::example::EchoRequest r;
    Status st = ParseBody(frame, c, kMaxDecompressed, &r);
    if (c == compressions[0] && st.ok()) {
      req = r;
      req_ok = true;
    }
    dougong::example::EchoResponse resp;
    (void)ParseBody(frame, c, kMaxDecompressed, &resp);
    wire::RpcMeta as_meta;
    (void)ParseBody(frame, c, kMaxDecompressed, &as_meta);
  }
  ExerciseCompression(frame.body.view());

  if (meta_ok) {
    Rebuild(frame, meta, req_ok ? &req : nullptr);
    // Control frames are built from meta alone.
    OutgoingFrame control = BuildControlFrame(h.type, &meta);
    FUZZ_CHECK(control.head.size() >= kFrameHeaderSize);
  }
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8; that is expected here.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  size_t k = control & 0x0f;
  const bool use_append = control & 0x10;
  const size_t block_size = kBlockSizes[(control >> 5) & 3];
  if (size < 1 + k) return 0;
  const uint8_t* sizes = data + 1;
  std::string_view stream(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k);

  FrameReader reader(kMaxFrameSize, block_size);
  std::deque<Held> held;  // recent frames, kept alive across reads
  size_t fed = 0;         // bytes of `stream` given to the reader
  size_t decoded = 0;     // bytes of `stream` consumed as frames
  size_t chunk_index = 0;
  bool failed = false;

  while (fed < stream.size() && !failed) {
    size_t chunk = stream.size() - fed;
    if (k > 0) {
      uint8_t b = sizes[chunk_index++ % k];
      chunk = std::min(chunk, b < 0x80 ? size_t{b} + 1 : size_t{b & 0x7fu} * 1024 + 1);
    }
    if (use_append) {
      reader.Append(stream.substr(fed, chunk));
      fed += chunk;
    } else {
      // As a connection does: one read into the space offered.
      auto space = reader.WritableSpace();
      FUZZ_CHECK(!space.empty());
      size_t n = std::min(chunk, space.size());
      std::memcpy(space.data(), stream.data() + fed, n);
      reader.Commit(n);
      fed += n;
    }
    FUZZ_CHECK(reader.buffered() == fed - decoded);

    Frame frame;
    Status error;
    FrameReader::Result r;
    while ((r = reader.Next(&frame, &error)) == FrameReader::Result::kFrame) {
      // The frame is exactly the next bytes of the stream.
      char header[kFrameHeaderSize];
      EncodeFrameHeader(frame.header, header);
      size_t total = frame.header.total_size();
      FUZZ_CHECK(decoded + total <= fed);
      std::string_view expect = stream.substr(decoded, total);
      FUZZ_CHECK(expect.substr(0, kFrameHeaderSize) == std::string_view(header, kFrameHeaderSize));
      size_t off = kFrameHeaderSize;
      FUZZ_CHECK(expect.substr(off, frame.meta.size()) == frame.meta.view());
      off += frame.meta.size();
      FUZZ_CHECK(expect.substr(off, frame.body.size()) == frame.body.view());
      off += frame.body.size();
      FUZZ_CHECK(expect.substr(off) == frame.attachment.view());
      decoded += total;

      HandleFrame(frame);
      held.push_back({frame, frame.meta.ToString(), frame.body.ToString(), frame.attachment.ToString()});
      if (held.size() > 8) held.pop_front();
      frame = Frame();
    }
    if (r == FrameReader::Result::kError) {
      FUZZ_CHECK(!error.ok());
      failed = true;
      // The reader stays failed.
      Status again;
      FUZZ_CHECK(reader.Next(&frame, &again) == FrameReader::Result::kError);
    }
    for (const Held& h : held) CheckUnchanged(h);
  }
  // Whatever the reader still holds is the unfinished tail.
  if (!failed) FUZZ_CHECK(reader.buffered_bytes() == stream.substr(decoded));
  for (const Held& h : held) CheckUnchanged(h);
  return 0;
}
