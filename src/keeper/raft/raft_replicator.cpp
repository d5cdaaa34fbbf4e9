#include "keeper/raft/raft_replicator.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dougong/keeper/peer.dougong.h"
#include "dougong/rpc/channel.h"
#include "dougong/rpc/client_context.h"
#include "dougong/rpc/server.h"
#include "keeper/raft/peer_service.h"

namespace dougong::keeper {

namespace {

// Attempts of a sync whose read index was not confirmed (a leader change in
// between): each waits up to the node's read timeout.
constexpr int kSyncAttempts = 3;

}  // namespace

RaftReplicator::RaftReplicator(const KeeperOptions& options) : options_(options) {
  for (const ClusterMember& m : options_.cluster.members) members_[m.id] = m;
}

RaftReplicator::~RaftReplicator() { Stop(); }

Status RaftReplicator::Open(ReplicationHost* host) {
  host_ = host;
  const ClusterOptions& c = options_.cluster;
  raft::NodeOptions o;
  o.id = c.id;
  o.data_dir = options_.data_dir + "/raft";
  o.address = Member(c.id).peer;
  for (const ClusterMember& m : c.members) {
    if (m.id == c.id) continue;
    o.peers[m.id] = m.peer;
  }
  if (!c.join) {
    for (const ClusterMember& m : c.members) {
      if (m.observer) o.bootstrap.learners.insert(m.id);
      else o.bootstrap.voters.insert(m.id);
    }
  }
  o.tick = std::chrono::milliseconds(c.tick_ms);
  o.raft.election_tick = c.election_ticks;
  o.raft.heartbeat_tick = c.heartbeat_ticks;
  o.raft.pre_vote = true;
  o.raft.check_quorum = true;
  o.snapshot_entries = options_.snap_count;
  o.rpc_timeout = std::chrono::milliseconds(std::max(200, c.election_ticks * c.tick_ms / 2));
  o.read_timeout_ticks = 2 * c.election_ticks;
  o.on_leader_change = [this](raft::NodeId leader, uint64_t term) { OnLeaderChange(leader, term); };
  Result<std::unique_ptr<raft::RaftNode>> node = raft::RaftNode::Create(std::move(o), this);
  if (!node.ok()) return Status(node.status().code(), "raft: " + node.status().message());
  node_ = std::move(*node);
  service_ = std::make_unique<KeeperPeerService>(this);
  rpc::ServerOptions so;
  so.io_threads = 1;
  so.worker_threads = 2;
  so.enable_reflection = true;
  server_ = std::make_unique<rpc::Server>(so);
  if (Status s = server_->AddService(node_->service()); !s.ok()) return s;
  if (Status s = server_->AddService(service_.get()); !s.ok()) return s;
  return Status::Ok();
}

Status RaftReplicator::Start() {
  const std::string peer = Member(options_.cluster.id).peer;
  if (Status s = server_->Start(peer); !s.ok()) {
    return Status(s.code(), "cannot serve the peer port " + peer + ": " + s.message());
  }
  applying_ = true;
  if (Status s = node_->Start(); !s.ok()) return s;
  started_ = true;
  spdlog::info("keeper: member {} serving peers on {}", options_.cluster.id, peer);
  return Status::Ok();
}

void RaftReplicator::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // The node first (its loop calls the Core), then the port its service
  // is served on, then the channels.
  if (node_) node_->Stop();
  applying_ = false;
  if (server_) {
    server_->Stop(std::chrono::milliseconds(0));
    server_->Wait();
  }
  std::map<std::string, std::shared_ptr<rpc::Channel>> channels;
  {
    std::lock_guard lock(mu_);
    channels.swap(channels_);
  }
}

// ---------------------------------------------------------------- state machine

void RaftReplicator::Apply(uint64_t index, std::string_view data) { host_->Committed(index, std::string(data)); }

std::string RaftReplicator::Snapshot() { return host_->SaveState(); }

bool RaftReplicator::SnapshotAsync(std::function<void(Result<std::string>)> done) {
  return applying_ && host_->SaveStateAsync(std::move(done));
}

Status RaftReplicator::Restore(uint64_t index, std::string_view data) { return host_->LoadState(index, data); }

void RaftReplicator::OnLeaderChange(raft::NodeId leader, uint64_t term) {
  MemberRole role = MemberRole::kFollower;
  if (leader == options_.cluster.id) role = MemberRole::kLeader;
  else if (leader == raft::kNoNode) role = MemberRole::kNone;
  if (role != MemberRole::kLeader && node_ && node_->Stats().conf.IsLearner(options_.cluster.id))
    role = MemberRole::kObserver;
  role_ = role;
  if (applying_) host_->RoleChanged(role, leader, term);
}

// ---------------------------------------------------------------- writes

void RaftReplicator::Propose(std::string entry, uint64_t tag) { gathered_.emplace_back(std::move(entry), tag); }

void RaftReplicator::Flush() {
  if (gathered_.empty()) return;
  std::vector<std::pair<std::string, uint64_t>> batch;
  batch.swap(gathered_);
  if (IsLeader()) {
    for (auto& [entry, tag] : batch) {
      node_->Propose(std::move(entry), [host = host_, tag = tag](Result<uint64_t> r) {
        if (!r.ok()) host->ProposalFailed(tag, r.status());
      });
    }
    return;
  }
  std::vector<uint64_t> tags;
  tags.reserve(batch.size());
  for (auto& b : batch) tags.push_back(b.second);
  const std::string leader = LeaderPeerAddress();
  if (leader.empty()) {
    FailAll(tags, Status(Code::kUnavailable, "no leader known"));
    return;
  }
  auto channel = ChannelTo(leader);
  if (!channel) {
    FailAll(tags, Status(Code::kUnavailable, "no channel to the leader at " + leader));
    return;
  }
  auto request = std::make_shared<peer::ForwardRequest>();
  request->set_from(options_.cluster.id);
  for (auto& [entry, tag] : batch) request->add_entries(std::move(entry));
  auto ctx = std::make_shared<rpc::ClientContext>();
  ctx->set_timeout(std::chrono::milliseconds(options_.cluster.election_ticks * options_.cluster.tick_ms * 2));
  forwarded_ += tags.size();
  peer::KeeperPeerStub(channel).AsyncForward(
      *request, ctx.get(), [this, request, ctx, tags = std::move(tags)](Result<peer::ForwardResponse> r) {
        if (r.ok()) return;
        FailAll(tags, r.status());
      });
}

void RaftReplicator::FailAll(const std::vector<uint64_t>& tags, const Status& why) {
  forward_failures_ += tags.size();
  for (uint64_t tag : tags) host_->ProposalFailed(tag, why);
}

// ---------------------------------------------------------------- sync and sessions

void RaftReplicator::Sync(uint64_t tag) { SyncAttempt(tag, kSyncAttempts); }

void RaftReplicator::SyncAttempt(uint64_t tag, int attempts_left) {
  node_->ReadIndex([this, tag, attempts_left](Result<uint64_t> r) {
    if (r.ok()) {
      host_->SyncDone(tag, Status::Ok());
      return;
    }
    // UNAVAILABLE: no leader yet, or the round did not finish (a leader
    // change); a stopped node says so and is not retried.
    if (attempts_left > 1 && r.status().code() == Code::kUnavailable && applying_ &&
        r.status().message().find("stopped") == std::string::npos) {
      SyncAttempt(tag, attempts_left - 1);
      return;
    }
    host_->SyncDone(tag, r.status());
  });
}

void RaftReplicator::TouchSessions(std::vector<int64_t> sessions) {
  if (IsLeader()) {
    host_->SessionsTouched(std::move(sessions));
    return;
  }
  const std::string leader = LeaderPeerAddress();
  auto channel = leader.empty() ? nullptr : ChannelTo(leader);
  if (!channel) return;  // the next tick reports them again
  auto request = std::make_shared<peer::TouchRequest>();
  request->set_from(options_.cluster.id);
  for (int64_t id : sessions) request->add_sessions(id);
  auto ctx = std::make_shared<rpc::ClientContext>();
  ctx->set_timeout(std::chrono::milliseconds(options_.cluster.election_ticks * options_.cluster.tick_ms));
  peer::KeeperPeerStub(channel).AsyncTouch(*request, ctx.get(),
                                           [request, ctx](Result<peer::TouchResponse>) {});
}

// ---------------------------------------------------------------- members and status

std::string RaftReplicator::LeaderPeerAddress() const {
  auto [id, address] = node_->Leader();
  if (id == raft::kNoNode) return {};
  if (!address.empty()) return address;
  return Member(id).peer;
}

std::shared_ptr<rpc::Channel> RaftReplicator::ChannelTo(const std::string& address) {
  std::lock_guard lock(mu_);
  if (stopped_) return nullptr;
  auto& ch = channels_[address];
  if (!ch) {
    rpc::ChannelOptions co;
    co.connection_type = rpc::ChannelOptions::ConnectionType::kSingle;
    co.connect_timeout = std::chrono::milliseconds(std::max(200, options_.cluster.election_ticks * options_.cluster.tick_ms / 2));
    co.backoff_max = co.connect_timeout;
    auto created = rpc::Channel::Create(address, co);
    if (!created.ok()) {
      channels_.erase(address);
      return nullptr;
    }
    ch = std::move(*created);
  }
  return ch;
}

ClusterMember RaftReplicator::Member(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = members_.find(id);
  return it == members_.end() ? ClusterMember{id, {}, {}, false} : it->second;
}

void RaftReplicator::RememberMember(const ClusterMember& member) {
  std::lock_guard lock(mu_);
  members_[member.id] = member;
}

void RaftReplicator::ForgetMember(uint64_t id) {
  std::lock_guard lock(mu_);
  members_.erase(id);
}

std::vector<ClusterMember> RaftReplicator::KnownMembers() const {
  std::lock_guard lock(mu_);
  std::vector<ClusterMember> out;
  for (const auto& [id, m] : members_) out.push_back(m);
  return out;
}

ReplicationStatus RaftReplicator::GetStatus() const {
  ReplicationStatus st;
  st.member = options_.cluster.id;
  st.proposals_forwarded = forwarded_;
  st.forward_failures = forward_failures_;
  if (!node_) return st;
  raft::NodeStats ns = node_->Stats();
  st.role = role_;
  st.leader = ns.leader;
  st.term = ns.term;
  st.commit = ns.commit;
  st.applied = ns.applied;
  st.snapshot_index = ns.snapshot_index;
  for (raft::NodeId id : ns.conf.voters) st.peers.push_back({id, true, 0, 0});
  for (raft::NodeId id : ns.conf.learners) st.peers.push_back({id, false, 0, 0});
  for (const raft::ProgressInfo& p : ns.progress) {
    for (auto& peer : st.peers) {
      if (peer.id != p.id) continue;
      peer.match = p.match;
      peer.lag = ns.commit > p.match ? ns.commit - p.match : 0;
    }
  }
  return st;
}

}  // namespace dougong::keeper
