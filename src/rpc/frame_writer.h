// FrameWriter: the write side of a native-protocol connection, shared by the
// server and the client. A frame queued on an idle connection is written at
// once; frames queued while a write is in flight go out together in the next
// gathered write (writev), attachments uncopied. Not thread-safe: use on the
// socket's I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "rpc/frame.h"

namespace dougong::rpc {

class FrameWriter {
 public:
  explicit FrameWriter(boost::asio::ip::tcp::socket& socket) : socket_(socket) {}

  // Called when a write fails (the owner should close).
  void set_on_error(std::function<void(boost::system::error_code)> fn) { on_error_ = std::move(fn); }
  // Called whenever everything queued has been written.
  void set_on_drained(std::function<void()> fn) { on_drained_ = std::move(fn); }

  // `owner` is kept alive until the write completes.
  void Enqueue(OutgoingFrame frame, std::shared_ptr<void> owner);
  // While paused (e.g. still connecting) frames are queued, not written.
  void Pause() { paused_ = true; }
  void Resume(std::shared_ptr<void> owner);
  // Drops queued frames and refuses new ones.
  void Stop() {
    stopped_ = true;
    pending_.clear();
  }
  bool idle() const { return pending_.empty() && !write_in_flight_; }

 private:
  void Flush(std::shared_ptr<void> owner);

  boost::asio::ip::tcp::socket& socket_;
  std::vector<OutgoingFrame> pending_;
  std::vector<OutgoingFrame> writing_;
  std::vector<boost::asio::const_buffer> iov_;
  std::function<void(boost::system::error_code)> on_error_;
  std::function<void()> on_drained_;
  bool write_in_flight_ = false;
  bool paused_ = false;
  bool stopped_ = false;
};

}  // namespace dougong::rpc
