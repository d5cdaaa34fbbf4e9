// ZkConnection: one client TCP connection of the keeper, living on one I/O
// thread. It frames packets, decodes them, and hands them to the Core in
// batches (one post per read); the Core hands back encoded bytes (one post
// per connection per Core round), which are written with one write per
// batch. Four-letter words are recognised in the first 4 bytes, as
// ZooKeeper does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "keeper/acl.h"
#include "zk/records.h"
#include "zk/requests.h"

namespace dougong::keeper {

class Core;

// A request as the Core receives it.
struct IncomingRequest {
  int32_t xid = 0;
  int32_t type = 0;
  zk::RequestBody body;
  std::string raw_body;        // writes only: the body bytes, for the log
  zk::ErrorCode decode_error = zk::ErrorCode::kOk;  // the body did not decode
  int64_t received_ns = 0;     // steady clock, for latency figures
};

class ZkConnection : public std::enable_shared_from_this<ZkConnection> {
 public:
  ZkConnection(boost::asio::ip::tcp::socket socket, Core* core, int32_t max_buffer);
  ~ZkConnection();

  void Start();
  // From any thread: queue bytes for writing; close once written if asked.
  void Send(std::string bytes, bool close_after);
  // From any thread: close now (pending bytes dropped).
  void Close();

  boost::asio::any_io_executor executor() { return socket_.get_executor(); }
  const std::string& remote_ip() const { return remote_ip_; }
  int remote_port() const { return remote_port_; }
  uint64_t id() const { return id_; }
  int64_t established_ms() const { return established_ms_; }

  // Counters for four-letter words (any thread).
  std::atomic<uint64_t> packets_received{0};
  std::atomic<uint64_t> packets_sent{0};

  // State owned by the Core's thread.
  struct CoreState {
    int64_t session = 0;          // 0: no session (yet)
    bool connected = false;       // ConnectResponse sent
    bool closing = false;         // no more requests are taken
    int32_t timeout_ms = 0;
    std::deque<IncomingRequest> queue;  // not yet started
    int pending_writes = 0;       // in the log, not yet applied
    bool syncing = false;         // a quorum sync is out: later requests wait
    std::shared_ptr<const AuthContext> auth;
    std::string outbox;           // encoded replies not yet handed over
    bool dirty = false;
    int32_t last_cxid = 0;
    int64_t last_zxid = 0;
    int32_t last_op = 0;
    int64_t last_latency_ms = 0;
    int64_t last_response_ms = 0;
    int64_t min_latency_ms = -1, max_latency_ms = 0, total_latency_ms = 0, latency_count = 0;
  } core;

 private:
  void ReadSome();
  void OnRead(size_t n);
  bool ParsePackets();  // false: the connection is to be closed
  void DoWrite();
  void Shutdown();
  // Stops sending, reads and discards what the peer still sends (so it sees
  // a clean end rather than a reset while it writes), then closes.
  void LingerClose();
  void Discard();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer handshake_timer_;
  Core* core_;
  const int32_t max_buffer_;
  const uint64_t id_;
  std::string remote_ip_;
  int remote_port_ = 0;
  int64_t established_ms_ = 0;

  std::string in_;
  size_t in_len_ = 0;
  bool handshake_seen_ = false;
  std::vector<IncomingRequest> batch_;

  std::string out_;       // waiting
  std::string writing_;   // in flight
  bool write_in_flight_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
};

}  // namespace dougong::keeper
