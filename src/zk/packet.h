// Packet framing on a ZooKeeper connection: every packet, both ways, is an
// int32 length then that many bytes. The first packet of a connection is a
// ConnectRequest (answered by a ConnectResponse), every later request is
// RequestHeader + body, every later answer ReplyHeader + body.
//
// Lengths are checked from the 4 length bytes alone, before anything is
// buffered for the packet: negative or above the limit is an error, as in
// ZooKeeper (NIOServerCnxn/NettyServerCnxn and ClientCnxnSocket refuse
// len < 0 || len > jute.maxbuffer, 0xfffff by default; there is no slack on
// the socket). The peer is then to be disconnected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dougong/base/status.h"
#include "zk/jute.h"

namespace dougong::zk {

inline constexpr size_t kPacketLengthSize = 4;

// Appends the length prefix and `payload`.
void AppendPacket(std::string_view payload, std::string* out);

// For encoding in place: BeginPacket reserves the length prefix and returns
// where it is; EndPacket fills it in with the size of what was appended since.
size_t BeginPacket(std::string* out);
void EndPacket(std::string* out, size_t begin);

enum class SplitResult { kPacket, kNeedMore, kError };

// Looks at the front of `in` (bytes received so far). kPacket: *payload is
// the first packet (a view into `in`) and *consumed its size with the prefix.
// kNeedMore: not all there yet. kError: *error says why (bad length), and is
// reported as soon as the 4 length bytes are in.
SplitResult SplitPacket(std::string_view in, int32_t max_packet_length, std::string_view* payload,
                        size_t* consumed, Status* error);

// The length check alone (INVALID_ARGUMENT "packet length N out of range
// [0, M]").
Status CheckPacketLength(int32_t length, int32_t max_packet_length);

}  // namespace dougong::zk
