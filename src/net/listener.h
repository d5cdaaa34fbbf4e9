// Opening a listening TCP socket the same way everywhere (rpc server,
// keeper's client and admin ports).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace dougong::net {

// open, close-on-exec, SO_REUSEADDR, bind, listen. Close-on-exec because a
// process we start (a test's ZooKeeper, a helper script) must not inherit
// the port and keep it bound after we close it.
boost::system::error_code OpenListener(boost::asio::ip::tcp::acceptor& acceptor,
                                       const boost::asio::ip::tcp::endpoint& endpoint, int backlog);

}  // namespace dougong::net
