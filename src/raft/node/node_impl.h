// RaftNode's internals, shared by raft_node.cpp (construction, the public
// API, which only posts to the inbox) and node_loop.cpp (the loop thread:
// ticks, the Ready cycle, applying, reads, snapshots).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dougong/raft/node.h"
#include "raft/node/inbox.h"
#include "raft/node/peer_transport.h"
#include "raft/node/transport_service.h"

namespace dougong::raft {

// The protocol's bound on a snapshot chunk, whatever the sender's setting.
inline constexpr size_t kMaxSnapshotChunkBytes = 1u << 20;

struct RaftNode::Impl {
  NodeOptions options;
  StateMachine* sm = nullptr;
  std::unique_ptr<RaftStorage> storage;
  std::unique_ptr<Core> core;
  std::shared_ptr<node::Inbox> inbox = std::make_shared<node::Inbox>();
  std::unique_ptr<node::PeerTransport> transport;
  std::unique_ptr<node::TransportService> service;
  std::thread thread;
  std::mutex lifecycle_mu;  // Start / Stop
  bool started = false;
  bool stopped = false;

  // --- loop thread only (and Stop, after joining it) ---
  struct PendingProposal {
    uint64_t term = 0;  // the leader's term when proposed: another term at the index means replaced
    IndexCallback done;
  };
  std::map<uint64_t, PendingProposal> proposals;  // by index
  struct PendingRead {
    IndexCallback done;
    bool confirmed = false;
    uint64_t index = 0;
    int ticks_left = 0;
  };
  std::map<std::string, PendingRead> reads;  // by context
  std::string read_prefix;                   // unique per node incarnation
  uint64_t read_seq = 0;
  uint64_t applied = 0;
  uint64_t snapshot_index = 0;
  bool snapshot_running = false;  // a SnapshotAsync is out
  uint64_t snapshot_failures = 0;
  Status deferred_error;          // from a task; the loop stops on it
  uint64_t readies = 0;
  NodeId seen_leader = kNoNode;
  uint64_t seen_term = 0;

  // --- published by the loop for other threads ---
  mutable std::mutex stats_mu;
  NodeStats published;

  // node_loop.cpp
  void Run();
  bool HandleReadies();  // false after a fatal (storage) error
  void SendSnapshot(const Message& m);
  void ApplyCommitted(const std::vector<Entry>& entries);
  void ServeReads();
  void OnTick();
  Status MaybeSnapshot();
  // Compacts up to `index` (<= applied) and saves the state machine's bytes.
  Status FinishSnapshot(uint64_t index, std::string data);
  void Publish();
  void Fail(Status error);
  void FailPending(const Status& error);

  // raft_node.cpp
  Status Refusal(const Status& core_error) const;
  void Track(Result<uint64_t> index, IndexCallback done);
  // Posts a membership change (from any thread).
  void ProposeChange(ConfChange change, std::string address, IndexCallback done);
};

}  // namespace dougong::raft
