// RaftReplicator: the keeper's Replicator (keeper/replication.h) on a
// RaftNode (dougong/raft/node.h). It owns the member's peer port: an
// rpc::Server with the RaftTransport service and KeeperPeer
// (proto/dougong/keeper/peer.proto), through which followers forward their
// clients' writes and session liveness to the leader and operators change
// the membership. The node's StateMachine callbacks go to the Core
// (ReplicationHost). docs/replicated_keeper.md has the design.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dougong/keeper/server.h"
#include "dougong/raft/node.h"
#include "keeper/replication.h"

namespace dougong::rpc {
class Channel;
class Server;
}  // namespace dougong::rpc

namespace dougong::keeper {

class KeeperPeerService;

class RaftReplicator final : public Replicator, public raft::StateMachine {
 public:
  explicit RaftReplicator(const KeeperOptions& options);
  ~RaftReplicator() override;

  // Replicator
  Status Open(ReplicationHost* host) override;
  Status Start() override;
  void Stop() override;
  uint64_t member_id() const override { return options_.cluster.id; }
  std::string session_secret() const override { return options_.cluster.secret; }
  void Propose(std::string entry, uint64_t tag) override;
  void Flush() override;
  void Sync(uint64_t tag) override;
  void TouchSessions(std::vector<int64_t> sessions) override;
  ReplicationStatus GetStatus() const override;

  // raft::StateMachine (the node's loop thread)
  void Apply(uint64_t index, std::string_view data) override;
  std::string Snapshot() override;
  bool SnapshotAsync(std::function<void(Result<std::string>)> done) override;
  Status Restore(uint64_t index, std::string_view data) override;

  // For KeeperPeerService (I/O threads).
  raft::RaftNode& node() { return *node_; }
  ReplicationHost* host() { return host_; }
  bool IsLeader() const { return role_.load() == MemberRole::kLeader; }
  std::string LeaderPeerAddress() const;
  ClusterMember Member(uint64_t id) const;
  void RememberMember(const ClusterMember& member);
  void ForgetMember(uint64_t id);
  std::vector<ClusterMember> KnownMembers() const;

 private:
  void OnLeaderChange(raft::NodeId leader, uint64_t term);
  std::shared_ptr<rpc::Channel> ChannelTo(const std::string& address);
  void FailAll(const std::vector<uint64_t>& tags, const Status& why);
  void SyncAttempt(uint64_t tag, int attempts_left);

  const KeeperOptions options_;
  ReplicationHost* host_ = nullptr;
  std::unique_ptr<raft::RaftNode> node_;
  std::unique_ptr<KeeperPeerService> service_;
  std::unique_ptr<rpc::Server> server_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> applying_{false};  // Start..Stop: the node may call the host

  std::atomic<MemberRole> role_{MemberRole::kNone};
  // Core thread only: entries gathered by Propose, sent by Flush.
  std::vector<std::pair<std::string, uint64_t>> gathered_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<rpc::Channel>> channels_;  // by peer address; kept until Stop
  std::map<uint64_t, ClusterMember> members_;                     // known addresses

  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> forward_failures_{0};
};

}  // namespace dougong::keeper
