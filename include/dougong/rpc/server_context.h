// ServerContext: what a handler knows about the call it serves, and what it
// can send back besides the response message.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "dougong/base/bytes.h"
#include "dougong/rpc/types.h"

namespace dougong::rpc {

namespace detail {
class ServerCall;
}

class ServerContext {
 public:
  using Clock = std::chrono::steady_clock;

  std::string_view service() const { return service_; }
  std::string_view method() const { return method_; }
  std::string_view peer() const { return peer_; }

  // Deadline sent by the client (its timeout, measured from arrival here).
  bool has_deadline() const { return deadline_ != Clock::time_point::max(); }
  Clock::time_point deadline() const { return deadline_; }
  // Time left before the deadline; zero when passed, max() when none.
  std::chrono::microseconds remaining() const {
    if (!has_deadline()) return std::chrono::microseconds::max();
    auto left = deadline_ - Clock::now();
    if (left <= Clock::duration::zero()) return std::chrono::microseconds::zero();
    return std::chrono::duration_cast<std::chrono::microseconds>(left);
  }

  // True once the client cancelled the call, disconnected or the deadline
  // passed. Coroutine handlers are also cancelled through their cancellation
  // slot, so pending asio operations complete with operation_aborted.
  bool IsCanceled() const {
    return canceled_.load(std::memory_order_acquire) || (has_deadline() && Clock::now() >= deadline_);
  }

  const Metadata& request_metadata() const { return request_metadata_; }
  void AddResponseMetadata(std::string key, std::string value) {
    response_metadata_.emplace_back(std::move(key), std::move(value));
  }
  const Metadata& response_metadata() const { return response_metadata_; }

  // Attachment bytes travel beside the protobuf body, uncopied.
  const Bytes& request_attachment() const { return request_attachment_; }
  void set_response_attachment(Bytes b) { response_attachment_ = std::move(b); }
  const Bytes& response_attachment() const { return response_attachment_; }

  Compression response_compression() const { return response_compression_; }
  void set_response_compression(Compression c) { response_compression_ = c; }

  const TraceContext& trace() const { return trace_; }
  uint64_t correlation_id() const { return correlation_id_; }

 private:
  friend class detail::ServerCall;
  // Views into the method table and the connection, which outlive the call.
  std::string_view service_;
  std::string_view method_;
  std::string_view peer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::atomic<bool> canceled_{false};
  Metadata request_metadata_;
  Metadata response_metadata_;
  Bytes request_attachment_;
  Bytes response_attachment_;
  Compression response_compression_ = Compression::kNone;
  TraceContext trace_;
  uint64_t correlation_id_ = 0;
};

}  // namespace dougong::rpc
