#include "cluster/naming/multicast_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace dougong::cluster::naming {

namespace {

Status Errno(const std::string& what) {
  return Unavailable(what + ": " + std::strerror(errno));
}

// Closes the descriptor unless released.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
  int Release() { return std::exchange(fd, -1); }
};

}  // namespace

Result<std::unique_ptr<MulticastSocket>> MulticastSocket::Open(const MulticastGroup& g) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(g.port);
  if (::inet_pton(AF_INET, g.group.c_str(), &addr.sin_addr) != 1 || !IN_MULTICAST(ntohl(addr.sin_addr.s_addr))) {
    return InvalidArgument("'" + g.group + "' is not an IPv4 multicast address (224.0.0.0/4)");
  }
  in_addr iface{};
  iface.s_addr = htonl(INADDR_ANY);
  if (!g.interface.empty() && ::inet_pton(AF_INET, g.interface.c_str(), &iface) != 1) {
    return InvalidArgument("interface '" + g.interface + "' is not an IPv4 address");
  }
  FdGuard fd{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0) return Errno("socket");
  int on = 1;
  if (::setsockopt(fd.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      ::setsockopt(fd.fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    return Errno("SO_REUSEADDR");
  }
  // Bound to the group, not INADDR_ANY: other groups on the same port stay out.
  if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Errno("bind " + g.group + ":" + std::to_string(g.port));
  }
  ip_mreq join{};
  join.imr_multiaddr = addr.sin_addr;
  join.imr_interface = iface;
  if (::setsockopt(fd.fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) {
    return Errno("joining " + g.group + " (is there a multicast route? `ip route add 224.0.0.0/4 dev IFACE`)");
  }
  unsigned char loop = 1;
  unsigned char hops = static_cast<unsigned char>(g.hops);
  if (::setsockopt(fd.fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
      ::setsockopt(fd.fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof hops) != 0) {
    return Errno("IP_MULTICAST_LOOP/TTL");
  }
  if (!g.interface.empty() && ::setsockopt(fd.fd, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0) {
    return Errno("IP_MULTICAST_IF " + g.interface);
  }
  FdGuard wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (wake.fd < 0) return Errno("eventfd");
  return std::unique_ptr<MulticastSocket>(new MulticastSocket(fd.Release(), wake.Release(), &addr, sizeof addr));
}

MulticastSocket::MulticastSocket(int fd, int wake_fd, const void* dest, size_t dest_len)
    : fd_(fd), wake_fd_(wake_fd), dest_len_(dest_len) {
  static_assert(sizeof(dest_) >= sizeof(sockaddr_in));
  std::memcpy(dest_, dest, dest_len);
}

MulticastSocket::~MulticastSocket() {
  ::close(fd_);
  ::close(wake_fd_);
}

Status MulticastSocket::Send(std::string_view datagram) {
  ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(dest_), static_cast<socklen_t>(dest_len_));
  if (n < 0) return Errno("sending to the multicast group");
  return Status::Ok();
}

MulticastSocket::Received MulticastSocket::Receive(std::string* out, size_t max_size,
                                                   std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int n = ::poll(fds, 2, static_cast<int>(std::max<int64_t>(timeout.count(), 0)));
  if (n <= 0) return Received::kTimeout;  // EINTR counts as a timeout: callers loop
  if (fds[1].revents & POLLIN) {
    uint64_t count;
    (void)!::read(wake_fd_, &count, sizeof count);
    return Received::kWoken;
  }
  out->resize(max_size + 1);
  ssize_t got = ::recv(fd_, out->data(), out->size(), MSG_DONTWAIT);
  if (got < 0) return Received::kTimeout;
  out->resize(static_cast<size_t>(got));
  return Received::kDatagram;
}

void MulticastSocket::Wake() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

}  // namespace dougong::cluster::naming
