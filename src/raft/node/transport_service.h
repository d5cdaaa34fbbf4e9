// TransportService: the receiving side of the Raft peer transport
// (RaftTransport in proto/dougong/raft/raft.proto).
//
// Step runs as a coroutine on the connection's I/O thread and only decodes
// and enqueues, so the batches of one connection reach the core in the
// order they were sent (a worker pool could reorder pipelined appends,
// which the core survives but answers with rejections and probes).
// InstallSnapshot runs on the worker pool (it appends up to a chunk and,
// at the end, checks the whole file's CRC); the sender sends the chunks of a
// stream one at a time, so their order is the sender's.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dougong/raft/raft.dougong.h"
#include "dougong/raft/types.h"

namespace dougong::raft::node {

struct ServiceCounters {
  std::atomic<uint64_t> snapshots_received{0};
  std::atomic<uint64_t> snapshot_chunks_received{0};
};

class TransportService : public transport::RaftTransportBase {
 public:
  // Hands received messages to the node; false once it stopped.
  using DeliverFn = std::function<bool(std::vector<Message>)>;
  // A peer's address, learned from its requests.
  using LearnFn = std::function<void(NodeId peer, const std::string& address)>;

  TransportService(NodeId self, size_t max_chunk_bytes, DeliverFn deliver, LearnFn learn);

  rpc::Awaitable<Status> CoStep(rpc::ServerContext& ctx, const transport::StepRequest& request,
                                transport::StepResponse* response) override;
  Status InstallSnapshot(rpc::ServerContext& ctx, const transport::InstallSnapshotRequest& request,
                         transport::InstallSnapshotResponse* response) override;

  const ServiceCounters& counters() const { return counters_; }

 private:
  // A snapshot being received from one sender.
  struct Assembly {
    uint64_t index = 0;
    uint64_t total = 0;
    Message message;  // from the first chunk
    std::string file;
  };

  Status HandleStep(const rpc::ServerContext& ctx, const transport::StepRequest& request);
  // Appends a chunk; when it is the last one, the assembled message is moved
  // to *complete.
  Status AddChunk(const rpc::ServerContext& ctx, const transport::InstallSnapshotRequest& request,
                  uint64_t* received, std::optional<Message>* complete);

  const NodeId self_;
  const size_t max_chunk_bytes_;
  const DeliverFn deliver_;
  const LearnFn learn_;
  ServiceCounters counters_;
  std::mutex mu_;
  std::map<NodeId, Assembly> assembling_;
};

}  // namespace dougong::raft::node
