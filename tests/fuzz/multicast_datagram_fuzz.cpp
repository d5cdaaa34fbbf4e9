// libFuzzer target: the multicast:// datagram decoder (DecodeDatagram), the
// first code to read what arrives on the group. Whatever it accepts must
// encode again and decode to the same datagram.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/naming/multicast_codec.h"

namespace {

using dougong::cluster::naming::Datagram;

bool Same(const Datagram& a, const Datagram& b) {
  const auto& ra = a.registration;
  const auto& rb = b.registration;
  const auto& pa = ra.provider;
  const auto& pb = rb.provider;
  return a.kind == b.kind && a.instance == b.instance && a.seq == b.seq && a.ttl_ms == b.ttl_ms &&
         a.services == b.services && ra.service == rb.service && pa.address == pb.address &&
         (a.kind != dougong::cluster::naming::DatagramKind::kAnnounce ||
          (pa.weight == pb.weight && pa.zone == pb.zone && pa.version == pb.version && pa.group == pb.group &&
           pa.start_time_ms == pb.start_time_ms && pa.warmup_ms == pb.warmup_ms && pa.tags == pb.tags &&
           ra.methods == rb.methods));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto d = dougong::cluster::naming::DecodeDatagram(bytes);
  if (!d.ok()) return 0;
  auto again = dougong::cluster::naming::EncodeDatagram(*d);
  // Re-encoding normalizes (no unknown fields, canonical numbers): never longer.
  if (!again.ok()) std::abort();
  auto back = dougong::cluster::naming::DecodeDatagram(*again);
  if (!back.ok() || !Same(*d, *back)) std::abort();
  return 0;
}
