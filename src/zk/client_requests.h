// Request tracking of the ZooKeeper client: requests waiting for a
// connection and requests sent and waiting for their reply. ZooKeeper
// answers a session's requests in order, so the sent ones form a FIFO and
// a reply must match the oldest (anything else is a protocol error).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "dougong/zk/types.h"
#include "zk/client_watches.h"

namespace dougong::zk::client {

struct PendingRequest {
  int32_t xid = 0;
  int32_t opcode = 0;
  // The whole packet, length prefix included; the xid is patched in when
  // the request is queued on the I/O thread.
  std::string packet;
  // A watch to register when the reply allows it (exists: also on NONODE).
  std::optional<WatchKind> watch_kind;
  std::string watch_path;  // server-side
  ZkWatcher watcher;
  // Runs on the I/O thread with the reply's error and body (the body is
  // empty for errors); err CONNECTIONLOSS/SESSIONEXPIRED when the request
  // is failed locally.
  std::function<void(int32_t err, std::string_view body)> on_reply;
};

class RequestTracker {
 public:
  int32_t NextXid() {
    if (next_xid_ <= 0 || next_xid_ == INT32_MAX) next_xid_ = 1;
    return next_xid_++;
  }

  void Queue(PendingRequest req) { queued_.push_back(std::move(req)); }
  bool has_queued() const { return !queued_.empty(); }
  PendingRequest PopQueued() {
    PendingRequest r = std::move(queued_.front());
    queued_.pop_front();
    return r;
  }

  void Sent(PendingRequest req) { sent_.push_back(std::move(req)); }
  // The request a reply with `xid` answers, or nullopt (protocol error).
  std::optional<PendingRequest> Match(int32_t xid) {
    if (sent_.empty() || sent_.front().xid != xid) return std::nullopt;
    PendingRequest r = std::move(sent_.front());
    sent_.pop_front();
    return r;
  }

  // Fails (with `err`) the sent requests, or sent and queued ones.
  void FailSent(int32_t err) { Fail(&sent_, err); }
  void FailAll(int32_t err) {
    Fail(&sent_, err);
    Fail(&queued_, err);
  }

 private:
  static void Fail(std::deque<PendingRequest>* q, int32_t err) {
    std::deque<PendingRequest> taken;
    taken.swap(*q);
    for (auto& r : taken)
      if (r.on_reply) r.on_reply(err, {});
  }

  int32_t next_xid_ = 1;
  std::deque<PendingRequest> queued_;
  std::deque<PendingRequest> sent_;
};

}  // namespace dougong::zk::client
