// libFuzzer target: the ZooKeeper jute codec (src/zk) as a server meets it —
// hostile bytes decoded as request packets, with opcode dispatch and multi —
// and as a client meets it (replies by opcode).
//
// Input layout (so that real packets with a one-byte prefix are seeds; see
// make_jute_seeds.cpp):
//   byte 0 % 3 == 0  the rest is one request payload: RequestHeader + body
//                    (DecodeRequest);
//             == 1   the rest is an int32 opcode, a ReplyHeader and the
//                    reply's body (DecodeResponseBody);
//             == 2   the rest is a client's byte stream: length-prefixed
//                    packets, the first a ConnectRequest, then requests.
//   byte 0 / 3 % 2   1: a small string/vector limit (64) instead of 1 MiB.
//
// Checked invariants (beyond "no crash, leak or UB"): whatever decodes
// re-encodes, and the re-encoding decodes to an equal value with the same
// size as the bytes it came from; ToString works on it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "zk/jute.h"
#include "zk/packet.h"
#include "zk/record.h"
#include "zk/records.h"
#include "zk/requests.h"

namespace {

using namespace dougong;
using namespace dougong::zk;

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

void FuzzRequest(std::string_view payload, int32_t limit) {
  Result<zk::Request> req = DecodeRequest(payload, limit);
  if (!req.ok()) {
    FUZZ_CHECK(!req.status().message().empty());
    return;
  }
  (void)ToString(req->body);
  std::string again;
  FUZZ_CHECK(EncodeRequest(req->header, req->body, &again).ok());
  // Null strings read as "" and non-zero bools as true keep their sizes.
  FUZZ_CHECK(again.size() == payload.size());
  Result<zk::Request> back = DecodeRequest(again, limit);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->header == req->header);
  FUZZ_CHECK(back->body == req->body);
}

void FuzzResponse(std::string_view in, int32_t limit) {
  jute::Reader r(in, limit);
  int32_t opcode = 0;
  ReplyHeader header;
  if (!r.ReadInt(&opcode).ok() || !jute::Decode(r, &header).ok()) return;
  Result<ResponseBody> body = DecodeResponseBody(opcode, r.rest(), limit);
  if (!body.ok()) return;
  (void)ToString(*body);
  std::string again;
  FUZZ_CHECK(EncodeResponseBody(*body, &again).ok());
  // A multi response's err is rewritten as Java writes it, so compare
  // values after a second decode rather than bytes.
  Result<ResponseBody> back = DecodeResponseBody(opcode, again, limit);
  FUZZ_CHECK(back.ok());
  std::string third;
  FUZZ_CHECK(EncodeResponseBody(*back, &third).ok());
  FUZZ_CHECK(third == again);
}

void FuzzStream(std::string_view in, int32_t limit) {
  bool connected = false;
  while (true) {
    std::string_view payload;
    size_t consumed = 0;
    Status error;
    SplitResult split = SplitPacket(in, jute::kDefaultMaxBuffer, &payload, &consumed, &error);
    if (split == SplitResult::kError) {
      FUZZ_CHECK(!error.ok());
      return;
    }
    if (split == SplitResult::kNeedMore) return;
    FUZZ_CHECK(consumed == payload.size() + kPacketLengthSize && consumed <= in.size());
    in.remove_prefix(consumed);
    if (!connected) {
      ConnectRequest connect;
      if (!jute::DecodeAll(payload, &connect, limit).ok()) return;  // a server would disconnect
      (void)jute::ToString(connect);
      ConnectRequest back;
      FUZZ_CHECK(jute::DecodeAll(jute::Encode(connect), &back, limit).ok());
      FUZZ_CHECK(back == connect);
      connected = true;
      continue;
    }
    FuzzRequest(payload, limit);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  const int32_t limit = (data[0] / 3) % 2 ? 64 : jute::kDefaultMaxBuffer;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode) {
    case 0: FuzzRequest(in, limit); break;
    case 1: FuzzResponse(in, limit); break;
    default: FuzzStream(in, limit); break;
  }
  return 0;
}
