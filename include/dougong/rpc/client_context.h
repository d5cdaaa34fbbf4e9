// ClientContext: per-call options going out (timeout, metadata, attachment,
// compression) and what came back besides the response message.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "dougong/base/bytes.h"
#include "dougong/rpc/types.h"

namespace dougong::rpc {

class ClientContext {
 public:
  ClientContext() = default;
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // Zero: the channel's default timeout (none unless set on the channel).
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  void AddMetadata(std::string key, std::string value) {
    metadata_.emplace_back(std::move(key), std::move(value));
  }
  const Metadata& metadata() const { return metadata_; }

  void set_attachment(Bytes b) { attachment_ = std::move(b); }
  const Bytes& attachment() const { return attachment_; }

  void set_compression(Compression c) { compression_ = c; }
  Compression compression() const { return compression_; }

  void set_trace(const TraceContext& t) { trace_ = t; }
  const TraceContext& trace() const { return trace_; }

  // Filled when the call completes.
  const Metadata& response_metadata() const { return response_metadata_; }
  const Bytes& response_attachment() const { return response_attachment_; }
  Metadata& mutable_response_metadata() { return response_metadata_; }
  void set_response_attachment(Bytes b) { response_attachment_ = std::move(b); }

  // Cancels the call from any thread: it completes with CANCELLED and the
  // server is told to cancel its handler. No effect once completed.
  void Cancel() {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      canceled_ = true;
      hook = std::move(cancel_hook_);
      cancel_hook_ = nullptr;
    }
    if (hook) hook();
  }

  // Used by channels: installs (or, with nullptr, clears) the hook Cancel()
  // runs. Returns false if the context was already cancelled.
  bool SetCancelHook(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    if (canceled_) return false;
    cancel_hook_ = std::move(hook);
    return true;
  }

 private:
  std::chrono::milliseconds timeout_{0};
  Metadata metadata_;
  Bytes attachment_;
  Compression compression_ = Compression::kNone;
  TraceContext trace_;
  Metadata response_metadata_;
  Bytes response_attachment_;
  std::mutex mu_;
  bool canceled_ = false;
  std::function<void()> cancel_hook_;
};

}  // namespace dougong::rpc
