#include "keeper/raft/peer_service.h"

#include <chrono>
#include <future>

#include "keeper/raft/raft_replicator.h"

namespace dougong::keeper {

namespace {

constexpr auto kChangeTimeout = std::chrono::seconds(10);

}  // namespace

KeeperPeerService::KeeperPeerService(RaftReplicator* replicator)
    : peer::KeeperPeerBase(rpc::HandlerMode::kCoroutine), replicator_(replicator) {
  (void)SetHandlerMode("Members", rpc::HandlerMode::kBlocking);
  (void)SetHandlerMode("ChangeMember", rpc::HandlerMode::kBlocking);
}

Status KeeperPeerService::NotLeader() const {
  std::string leader = replicator_->LeaderPeerAddress();
  return Status(Code::kFailedPrecondition,
                "not the leader" + (leader.empty() ? std::string("; no leader known") : "; the leader is at " + leader));
}

rpc::Awaitable<Status> KeeperPeerService::CoForward(rpc::ServerContext&, const peer::ForwardRequest& request,
                                                    peer::ForwardResponse*) {
  if (!replicator_->IsLeader()) co_return NotLeader();
  // The follower learns each entry's fate by applying it (or by a leader
  // change, or its timeout): nothing to wait for here.
  for (const std::string& entry : request.entries()) replicator_->node().Propose(entry, [](Result<uint64_t>) {});
  co_return Status::Ok();
}

rpc::Awaitable<Status> KeeperPeerService::CoTouch(rpc::ServerContext&, const peer::TouchRequest& request,
                                                  peer::TouchResponse*) {
  if (!replicator_->IsLeader()) co_return NotLeader();
  replicator_->host()->SessionsTouched(std::vector<int64_t>(request.sessions().begin(), request.sessions().end()));
  co_return Status::Ok();
}

Status KeeperPeerService::Members(rpc::ServerContext&, const peer::MembersRequest&, peer::MembersResponse* response) {
  ReplicationStatus st = replicator_->GetStatus();
  response->set_leader(st.leader);
  response->set_term(st.term);
  response->set_commit(st.commit);
  for (const ReplicationStatus::Peer& p : st.peers) {
    ClusterMember known = replicator_->Member(p.id);
    peer::Member* m = response->add_members();
    m->set_id(p.id);
    m->set_peer(known.peer);
    m->set_client(known.client);
    m->set_observer(!p.voter);
    m->set_role(p.id == st.leader ? "leader" : p.voter ? "follower" : "observer");
    m->set_match(p.match);
    m->set_lag(p.lag);
  }
  return Status::Ok();
}

Status KeeperPeerService::ChangeMember(rpc::ServerContext&, const peer::ChangeMemberRequest& request,
                                       peer::ChangeMemberResponse* response) {
  if (!replicator_->IsLeader()) return NotLeader();
  const peer::Member& m = request.member();
  if (m.id() == 0 || m.id() > 255) return Status(Code::kInvalidArgument, "a member id is in 1..255");
  auto done = std::make_shared<std::promise<Result<uint64_t>>>();
  auto callback = [done](Result<uint64_t> r) { done->set_value(std::move(r)); };
  raft::RaftNode& node = replicator_->node();
  switch (request.kind()) {
    case peer::ChangeMemberRequest::ADD:
    case peer::ChangeMemberRequest::ADD_OBSERVER: {
      if (m.peer().empty()) return Status(Code::kInvalidArgument, "adding a member needs its peer address");
      ClusterMember member{m.id(), m.peer(), m.client(), request.kind() == peer::ChangeMemberRequest::ADD_OBSERVER};
      replicator_->RememberMember(member);
      if (member.observer) node.AddLearner(m.id(), m.peer(), callback);
      else node.AddVoter(m.id(), m.peer(), callback);
      break;
    }
    case peer::ChangeMemberRequest::REMOVE:
      node.RemoveNode(m.id(), callback);
      break;
    default:
      return Status(Code::kInvalidArgument, "unknown membership change");
  }
  auto future = done->get_future();
  if (future.wait_for(kChangeTimeout) != std::future_status::ready) {
    return Status(Code::kDeadlineExceeded, "the change was proposed but not committed within 10 s (is a quorum up?)");
  }
  Result<uint64_t> r = future.get();
  if (!r.ok()) return r.status();
  if (request.kind() == peer::ChangeMemberRequest::REMOVE) replicator_->ForgetMember(m.id());
  response->set_index(*r);
  return Status::Ok();
}

}  // namespace dougong::keeper
