#include "keeper/connection.h"

#include <array>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "keeper/core.h"
#include "keeper/txn.h"
#include "zk/packet.h"
#include "zk/record.h"

namespace dougong::keeper {

using zk::ErrorCode;
using zk::OpCode;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr size_t kReadChunk = 64 * 1024;

// The four-letter words ZooKeeper 3.8 knows; on a new connection they come
// instead of the length of a ConnectRequest.
bool IsFourLetterWord(std::string_view w) {
  static constexpr std::array<std::string_view, 18> kWords = {
      "ruok", "srvr", "stat", "mntr", "conf", "cons", "wchs", "envi", "isro",
      "dump", "crst", "srst", "dirs", "wchc", "wchp", "gtmk", "stmk", "hash"};
  for (auto k : kWords) {
    if (w == k) return true;
  }
  return false;
}

uint64_t NextConnectionId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ServerOnlyOpcode(int32_t type) {
  switch (static_cast<OpCode>(type)) {
    case OpCode::kNotification:
    case OpCode::kCreateSession:
    case OpCode::kError:
    case OpCode::kDeleteContainer:
      return true;
    default:
      return zk::OpCodeName(type) == "unknown";
  }
}

// Requests whose body starts with a path, and that path is null (length -1).
// The codec reads a null string as "" (clients send null ids in ACLs), but a
// null path fails ZooKeeper's request processing: MARSHALLINGERROR.
bool NullPath(int32_t type, std::string_view body) {
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreate: case OpCode::kDelete: case OpCode::kExists: case OpCode::kGetData:
    case OpCode::kSetData: case OpCode::kGetACL: case OpCode::kSetACL: case OpCode::kGetChildren:
    case OpCode::kSync: case OpCode::kGetChildren2: case OpCode::kCheck: case OpCode::kCreate2:
    case OpCode::kCreateContainer: case OpCode::kCreateTTL: case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches: case OpCode::kGetEphemerals: case OpCode::kGetAllChildrenNumber:
    case OpCode::kAddWatch:
      return body.size() >= 4 && zk::jute::GetInt32(body.data()) == -1;
    default:
      return false;
  }
}

}  // namespace

ZkConnection::ZkConnection(boost::asio::ip::tcp::socket socket, Core* core, int32_t max_buffer)
    : socket_(std::move(socket)),
      handshake_timer_(socket_.get_executor()),
      core_(core),
      max_buffer_(max_buffer),
      id_(NextConnectionId()) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    auto addr = ep.address();
    remote_ip_ = addr.is_v6() && addr.to_v6().is_v4_mapped()
                     ? boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6()).to_string()
                     : addr.to_string();
    remote_port_ = ep.port();
  }
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  established_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
}

ZkConnection::~ZkConnection() = default;

void ZkConnection::Start() {
  handshake_timer_.expires_after(kHandshakeTimeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->handshake_seen_) self->Shutdown();
  });
  in_.resize(kReadChunk);
  ReadSome();
}

void ZkConnection::ReadSome() {
  if (in_.size() - in_len_ < kReadChunk / 4) in_.resize(std::max(in_.size() * 2, in_len_ + kReadChunk));
  socket_.async_read_some(boost::asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                            if (ec) {
                              self->Shutdown();
                              return;
                            }
                            self->OnRead(n);
                          });
}

void ZkConnection::OnRead(size_t n) {
  if (closed_) return;
  in_len_ += n;
  if (!ParsePackets()) {
    if (!batch_.empty()) core_->PostRequests(shared_from_this(), std::move(batch_));
    batch_.clear();
    LingerClose();
    return;
  }
  if (!batch_.empty()) {
    core_->PostRequests(shared_from_this(), std::move(batch_));
    batch_.clear();
  }
  if (!closed_ && !close_after_write_) ReadSome();
}

bool ZkConnection::ParsePackets() {
  size_t pos = 0;
  bool ok = true;
  while (pos < in_len_) {
    std::string_view avail(in_.data() + pos, in_len_ - pos);
    if (!handshake_seen_ && avail.size() >= 4 && IsFourLetterWord(avail.substr(0, 4))) {
      handshake_seen_ = true;
      handshake_timer_.cancel();
      core_->PostFourLetterWord(shared_from_this(), std::string(avail.substr(0, 4)));
      close_after_write_ = true;  // the answer, then close; nothing more is read
      pos = in_len_;
      break;
    }
    std::string_view payload;
    size_t consumed = 0;
    Status error;
    zk::SplitResult sr = zk::SplitPacket(avail, max_buffer_, &payload, &consumed, &error);
    if (sr == zk::SplitResult::kNeedMore) break;
    if (sr == zk::SplitResult::kError) {
      spdlog::warn("keeper: closing connection from {}:{}: {}", remote_ip_, remote_port_, error.message());
      ok = false;
      break;
    }
    pos += consumed;
    packets_received.fetch_add(1, std::memory_order_relaxed);
    if (!handshake_seen_) {
      handshake_seen_ = true;
      handshake_timer_.cancel();
      zk::ConnectRequest req;
      zk::jute::Reader r(payload, max_buffer_);
      if (Status s = zk::jute::Decode(r, &req); !s.ok()) {
        spdlog::warn("keeper: closing connection from {}:{}: bad ConnectRequest: {}", remote_ip_, remote_port_,
                     s.message());
        ok = false;
        break;
      }
      core_->PostConnect(shared_from_this(), std::move(req));
      continue;
    }
    IncomingRequest req;
    req.received_ns = SteadyNs();
    zk::jute::Reader r(payload, max_buffer_);
    zk::RequestHeader header;
    if (Status s = zk::jute::Decode(r, &header); !s.ok()) {
      spdlog::warn("keeper: closing connection from {}:{}: bad request header: {}", remote_ip_, remote_port_,
                   s.message());
      ok = false;
      break;
    }
    req.xid = header.xid;
    req.type = header.type;
    std::string_view body = r.rest();
    if (ServerOnlyOpcode(header.type)) {
      req.decode_error = ErrorCode::kUnimplemented;
    } else if (NullPath(header.type, body)) {
      req.decode_error = ErrorCode::kMarshallingError;
    } else {
      Result<zk::RequestBody> decoded = zk::DecodeRequestBody(header.type, body, max_buffer_);
      if (decoded.ok()) {
        req.body = std::move(*decoded);
        if (IsTxnOpcode(header.type)) req.raw_body.assign(body);  // logged as sent
      } else {
        req.decode_error = ErrorCode::kMarshallingError;
      }
    }
    batch_.push_back(std::move(req));
  }
  // Keep the unparsed tail at the front of the buffer.
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
  }
  return ok;
}

void ZkConnection::Send(std::string bytes, bool close_after) {
  boost::asio::post(socket_.get_executor(),
                    [self = shared_from_this(), bytes = std::move(bytes), close_after]() mutable {
                      if (self->closed_) return;
                      if (!bytes.empty()) self->packets_sent.fetch_add(1, std::memory_order_relaxed);
                      if (self->out_.empty()) {
                        self->out_.swap(bytes);
                      } else {
                        self->out_.append(bytes);
                      }
                      if (close_after) self->close_after_write_ = true;
                      if (!self->write_in_flight_) self->DoWrite();
                    });
}

void ZkConnection::DoWrite() {
  if (out_.empty()) {
    if (close_after_write_) Shutdown();
    return;
  }
  writing_.clear();
  writing_.swap(out_);
  write_in_flight_ = true;
  boost::asio::async_write(socket_, boost::asio::buffer(writing_),
                           [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                             self->write_in_flight_ = false;
                             if (ec) {
                               self->Shutdown();
                               return;
                             }
                             self->DoWrite();
                           });
}

void ZkConnection::LingerClose() {
  if (closed_) return;
  closed_ = true;
  handshake_timer_.cancel();
  core_->ReleaseConnection(remote_ip_);
  core_->PostDisconnect(shared_from_this());
  boost::system::error_code ec;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  handshake_timer_.expires_after(std::chrono::seconds(2));
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (e) return;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
  in_len_ = 0;
  Discard();
}

void ZkConnection::Discard() {
  socket_.async_read_some(boost::asio::buffer(in_.data(), in_.size()),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                            self->in_len_ += n;
                            // At most a few packets' worth: a peer that keeps
                            // sending is cut off.
                            if (ec || self->in_len_ > 4 * static_cast<size_t>(self->max_buffer_) + (1 << 20)) {
                              boost::system::error_code ignored;
                              self->handshake_timer_.cancel();
                              self->socket_.close(ignored);
                              return;
                            }
                            self->Discard();
                          });
}

void ZkConnection::Close() {
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Shutdown(); });
}

void ZkConnection::Shutdown() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  handshake_timer_.cancel();
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  core_->ReleaseConnection(remote_ip_);
  core_->PostDisconnect(shared_from_this());
}

}  // namespace dougong::keeper
