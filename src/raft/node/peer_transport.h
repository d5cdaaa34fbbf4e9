// PeerTransport: the sending side of the Raft peer transport. One
// rpc::Channel per peer (a single multiplexed connection); the messages of
// one Ready for one peer go out as one RaftTransport.Step call, without
// waiting for earlier calls (pipelining: the connection keeps them in
// order, the receiver steps them in arrival order). A failed call reports
// the peer unreachable. Snapshots are streamed from the snapshot file in
// chunks, one thread per stream, each chunk sent after the previous one
// was acknowledged, and reported done or failed.
//
// Thread-safe. Reports run on an I/O or stream thread: they must only
// enqueue (RaftNode posts them to its inbox).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "dougong/base/result.h"
#include "dougong/raft/types.h"

namespace dougong::rpc {
class Channel;
}

namespace dougong::raft::node {

struct TransportOptions {
  NodeId self = kNoNode;
  std::string self_address;
  std::chrono::milliseconds rpc_timeout{1000};
  size_t chunk_bytes = 1u << 20;
};

struct TransportCounters {
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> batches_sent{0};
  std::atomic<uint64_t> send_failures{0};
  std::atomic<uint64_t> snapshots_sent{0};
  std::atomic<uint64_t> snapshot_chunks_sent{0};
};

class PeerTransport {
 public:
  using UnreachableFn = std::function<void(NodeId peer)>;
  using SnapshotDoneFn = std::function<void(NodeId peer, bool ok)>;

  PeerTransport(TransportOptions options, UnreachableFn on_unreachable, SnapshotDoneFn on_snapshot_done);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  void SetAddress(NodeId peer, const std::string& address);
  std::string Address(NodeId peer) const;  // "" if unknown

  // Groups `messages` by destination: one Step call per peer.
  void Send(const std::vector<Message>& messages);
  // Streams the snapshot file (already open, so that a purge meanwhile does
  // not matter) to m.to with `m` (metadata only) in the first chunk.
  void SendSnapshot(const Message& m, UniqueFd file, std::string path);

  // Waits for the snapshot streams (they stop at the next chunk) and drops
  // the channels. Later sends fail.
  void Stop();
  const TransportCounters& counters() const { return *counters_; }

 private:
  struct Peer {
    std::string address;
    std::shared_ptr<rpc::Channel> channel;  // created on first use
  };
  struct Stream {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };

  Result<std::shared_ptr<rpc::Channel>> ChannelFor(NodeId peer);
  bool StreamSnapshot(const Message& m, int fd, const std::string& path, std::shared_ptr<rpc::Channel> channel);

  const TransportOptions options_;
  const UnreachableFn on_unreachable_;
  const SnapshotDoneFn on_snapshot_done_;
  // Shared with completion callbacks, which may outlive this object.
  const std::shared_ptr<TransportCounters> counters_ = std::make_shared<TransportCounters>();
  mutable std::mutex mu_;
  std::map<NodeId, Peer> peers_;
  std::vector<Stream> streams_;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
};

}  // namespace dougong::raft::node
