// A UDP socket joined to an IPv4 multicast group, sending to it and
// receiving from it (its own datagrams included: IP_MULTICAST_LOOP is on, so
// providers and consumers on one host see each other). Several sockets of
// one host may join the same group and port (SO_REUSEADDR/SO_REUSEPORT):
// each gets every datagram. A receive waits with poll() and can be woken
// from another thread (an eventfd), so an owner thread stops at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::cluster::naming {

struct MulticastGroup {
  std::string group;      // IPv4 multicast address, e.g. "239.255.42.1"
  uint16_t port = 0;
  std::string interface;  // IPv4 address of the interface; empty: as routed
  int hops = 1;           // IP_MULTICAST_TTL: 1 stays on the local link
};

class MulticastSocket {
 public:
  static Result<std::unique_ptr<MulticastSocket>> Open(const MulticastGroup& group);
  ~MulticastSocket();
  MulticastSocket(const MulticastSocket&) = delete;
  MulticastSocket& operator=(const MulticastSocket&) = delete;

  // To the group. Thread-safe.
  Status Send(std::string_view datagram);

  enum class Received { kDatagram, kTimeout, kWoken };
  // Waits up to `timeout` for one datagram (into *out, cut at `max_size` + 1
  // bytes so the caller can tell it was too long) or for Wake().
  Received Receive(std::string* out, size_t max_size, std::chrono::milliseconds timeout);
  // Makes the current or next Receive return kWoken. Thread-safe.
  void Wake();

 private:
  MulticastSocket(int fd, int wake_fd, const void* dest, size_t dest_len);

  int fd_;
  int wake_fd_;
  unsigned char dest_[16];  // sockaddr_in of the group
  size_t dest_len_;
};

}  // namespace dougong::cluster::naming
