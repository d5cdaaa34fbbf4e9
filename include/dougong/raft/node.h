// RaftNode: a running Raft member. It owns the pure core (core.h), its
// storage (storage.h), a peer transport over the RPC framework and one
// thread, the driver loop, that does everything with the core:
//
//   ticks (NodeOptions::tick), messages from peers, and requests (Propose,
//   ReadIndex, membership, transfer) go into an inbox; the loop drains it,
//   then handles each Ready in the contract's order: persist (SaveReady,
//   fsync'ed) -> send the messages (batched per peer, pipelined) and start
//   snapshot streams -> install a snapshot / apply committed entries through
//   the StateMachine -> answer reads -> Advance. Then it snapshots the state
//   machine and compacts the log every `snapshot_entries` applied entries.
//
// The peers' transport is a service (RaftTransport, proto/dougong/raft/
// raft.proto) that the caller adds to its own rpc::Server, so a process
// serves Raft and its clients on one port. See docs/raft.md, "Node and
// transport".
//
// Callbacks (`done`, StateMachine, NodeOptions::on_leader_change) run on the
// loop thread: they must not block; they may call RaftNode's methods, which
// only enqueue.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/raft/core.h"
#include "dougong/raft/storage.h"
#include "dougong/raft/types.h"

namespace dougong::rpc {
class Service;
}

namespace dougong::raft {

// The replicated application. Called on the loop thread only.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // A committed normal entry, in index order, exactly once per start (after
  // a restart, entries after the snapshot are applied again: Restore comes
  // first).
  virtual void Apply(uint64_t index, std::string_view data) = 0;
  // The whole state as of the last applied index.
  virtual std::string Snapshot() = 0;
  // Optional, for states too large to serialize on the loop thread: starts
  // capturing the state as of the last applied index and returns true;
  // `done` (any thread, exactly once) gets its bytes later, and the loop
  // meanwhile goes on applying. False: Snapshot() is called instead.
  virtual bool SnapshotAsync(std::function<void(Result<std::string>)> done) {
    (void)done;
    return false;
  }
  // Replaces the state with a snapshot's (taken at `index`).
  virtual Status Restore(uint64_t index, std::string_view data) = 0;
};

struct NodeOptions {
  NodeId id = kNoNode;
  std::string data_dir;
  // "host:port" of this node's rpc::Server, sent with every message so that
  // peers that do not know it can answer.
  std::string address;
  // Known peers (others; this node's own entry is ignored). More are
  // learned from AddVoter/AddLearner and from incoming messages.
  std::map<NodeId, std::string> peers;
  // The members of a brand-new cluster. Used only when data_dir holds no
  // state; empty: join an existing cluster (wait for the leader to add this
  // node and send a snapshot).
  ConfState bootstrap;

  std::chrono::milliseconds tick{100};
  // election_tick, heartbeat_tick, pre_vote, check_quorum, flow control; id
  // and seed are set from `id`.
  Config raft;
  StorageOptions storage;

  // Snapshot the state machine and compact the log after this many applied
  // entries since the last snapshot; 0: never.
  uint64_t snapshot_entries = 10000;
  size_t snapshot_chunk_bytes = 1u << 20;  // at most 1 MiB
  // Time a peer call may take before the peer counts as unreachable.
  std::chrono::milliseconds rpc_timeout{1000};
  // A ReadIndex not confirmed within this many ticks fails (UNAVAILABLE).
  int read_timeout_ticks = 30;

  // Leadership seen by this node changed (leader kNoNode: none known).
  std::function<void(NodeId leader, uint64_t term)> on_leader_change;
};

struct NodeStats {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  uint64_t term = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t snapshot_index = 0;  // of the newest local snapshot
  uint64_t snapshot_failures = 0;  // SnapshotAsync calls that failed
  ConfState conf;
  std::vector<ProgressInfo> progress;  // leader only: each peer's match index
  uint64_t readies = 0;
  uint64_t messages_sent = 0;
  uint64_t batches_sent = 0;
  uint64_t send_failures = 0;
  uint64_t snapshots_sent = 0;  // streams completed
  uint64_t snapshot_chunks_sent = 0;
  uint64_t snapshots_received = 0;  // assembled, checked and stepped
  uint64_t snapshot_chunks_received = 0;
  bool running = false;
  Status error;  // why the loop stopped on its own (a storage failure)
};

class RaftNode {
 public:
  using IndexCallback = std::function<void(Result<uint64_t>)>;
  using StatusCallback = std::function<void(Status)>;

  // Opens (recovers, or bootstraps) the storage, restores the state machine
  // from the newest snapshot and builds the core. Nothing runs before
  // Start(); service() can be added to a server in between. `sm` must
  // outlive the node.
  static Result<std::unique_ptr<RaftNode>> Create(NodeOptions options, StateMachine* sm);
  // Stops first.
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // The RaftTransport service to add to this node's rpc::Server; it must
  // stay registered only while the node exists (stop the server first).
  rpc::Service* service();

  Status Start();
  // Stops the loop and the transport and fails what is pending with
  // UNAVAILABLE. A stopped node is not restarted: Create a new one from the
  // same data_dir. Not from a callback (it joins the loop thread).
  void Stop();

  // Appends `data`; `done` gets its index once it is committed and applied
  // here, ABORTED if another entry took the index (leadership changed),
  // FAILED_PRECONDITION "not the leader" naming the leader if one is known
  // (UNAVAILABLE if none), UNAVAILABLE when stopped.
  void Propose(std::string data, IndexCallback done);
  // Linearizable read: `done` gets the read index once the leader confirmed
  // it with a quorum round and this node applied up to it; read the state
  // machine in the callback (or later). Fails (UNAVAILABLE) if it is not
  // confirmed within read_timeout_ticks; retry.
  void ReadIndex(IndexCallback done);

  // Single-server membership changes (docs/raft.md); leader only; `done`
  // gets the change's index when applied here.
  void AddVoter(NodeId id, std::string address, IndexCallback done);
  void AddLearner(NodeId id, std::string address, IndexCallback done);
  void RemoveNode(NodeId id, IndexCallback done);
  // Leader only; `done` gets whether the transfer started (its outcome shows
  // as a leader change).
  void TransferLeadership(NodeId to, StatusCallback done);

  // Adds or changes a peer's address (thread-safe).
  void SetPeerAddress(NodeId id, std::string address);
  // The leader known to this node and its address ("" if unknown).
  std::pair<NodeId, std::string> Leader() const;
  NodeStats Stats() const;
  NodeId id() const;

  struct Impl;

 private:
  explicit RaftNode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dougong::raft
