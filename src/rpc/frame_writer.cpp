#include "rpc/frame_writer.h"

#include <boost/asio/write.hpp>

namespace asio = boost::asio;

namespace dougong::rpc {

void FrameWriter::Enqueue(OutgoingFrame frame, std::shared_ptr<void> owner) {
  if (stopped_) return;
  pending_.push_back(std::move(frame));
  // An idle connection writes at once (the latency path); while a write is
  // in flight, frames gather and go out together when it completes.
  if (write_in_flight_ || paused_) return;
  Flush(std::move(owner));
}

void FrameWriter::Resume(std::shared_ptr<void> owner) {
  paused_ = false;
  Flush(std::move(owner));
}

void FrameWriter::Flush(std::shared_ptr<void> owner) {
  if (stopped_ || paused_ || write_in_flight_) return;
  if (pending_.empty()) {
    if (on_drained_) on_drained_();
    return;
  }
  writing_.swap(pending_);
  iov_.clear();
  for (const auto& f : writing_) {
    iov_.emplace_back(f.head.data(), f.head.size());
    if (!f.attachment.empty()) iov_.emplace_back(f.attachment.data(), f.attachment.size());
  }
  write_in_flight_ = true;
  asio::async_write(socket_, iov_, [this, owner = std::move(owner)](boost::system::error_code ec, size_t) mutable {
    write_in_flight_ = false;
    writing_.clear();
    if (ec) {
      if (!stopped_ && on_error_) on_error_(ec);
      return;
    }
    Flush(std::move(owner));
  });
}

}  // namespace dougong::rpc
