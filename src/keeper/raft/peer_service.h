// KeeperPeerService: the KeeperPeer service (proto/dougong/keeper/peer.proto)
// of one member: forwarded writes and session reports on the leader, and
// the membership operations behind `dougong keeper members`.
#pragma once

#include "dougong/keeper/peer.dougong.h"

namespace dougong::keeper {

class RaftReplicator;

class KeeperPeerService : public peer::KeeperPeerBase {
 public:
  explicit KeeperPeerService(RaftReplicator* replicator);

  // On the connection's I/O thread, in arrival order: a follower's
  // forwarded entries reach the log in the order its clients sent them.
  rpc::Awaitable<Status> CoForward(rpc::ServerContext& ctx, const peer::ForwardRequest& request,
                                   peer::ForwardResponse* response) override;
  rpc::Awaitable<Status> CoTouch(rpc::ServerContext& ctx, const peer::TouchRequest& request,
                                 peer::TouchResponse* response) override;
  // Blocking (worker pool): a change waits for its commit.
  Status Members(rpc::ServerContext& ctx, const peer::MembersRequest& request,
                 peer::MembersResponse* response) override;
  Status ChangeMember(rpc::ServerContext& ctx, const peer::ChangeMemberRequest& request,
                      peer::ChangeMemberResponse* response) override;

 private:
  Status NotLeader() const;
  RaftReplicator* const replicator_;
};

}  // namespace dougong::keeper
