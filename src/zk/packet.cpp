#include "zk/packet.h"

namespace dougong::zk {

void AppendPacket(std::string_view payload, std::string* out) {
  size_t begin = BeginPacket(out);
  out->append(payload.data(), payload.size());
  EndPacket(out, begin);
}

size_t BeginPacket(std::string* out) {
  size_t begin = out->size();
  out->append(kPacketLengthSize, '\0');
  return begin;
}

void EndPacket(std::string* out, size_t begin) {
  size_t len = out->size() - begin - kPacketLengthSize;
  jute::PutInt32(out->data() + begin, static_cast<int32_t>(len));
}

Status CheckPacketLength(int32_t length, int32_t max_packet_length) {
  if (length >= 0 && length <= max_packet_length) return Status::Ok();
  return InvalidArgument("packet length " + std::to_string(length) + " out of range [0, " +
                         std::to_string(max_packet_length) + "]");
}

SplitResult SplitPacket(std::string_view in, int32_t max_packet_length, std::string_view* payload,
                        size_t* consumed, Status* error) {
  if (in.size() < kPacketLengthSize) return SplitResult::kNeedMore;
  int32_t len = jute::GetInt32(in.data());
  if (Status s = CheckPacketLength(len, max_packet_length); !s.ok()) {
    *error = std::move(s);
    return SplitResult::kError;
  }
  if (in.size() - kPacketLengthSize < static_cast<size_t>(len)) return SplitResult::kNeedMore;
  *payload = in.substr(kPacketLengthSize, static_cast<size_t>(len));
  *consumed = kPacketLengthSize + static_cast<size_t>(len);
  return SplitResult::kPacket;
}

}  // namespace dougong::zk
