// RaftNode: construction from disk, lifecycle, and the public API. Every
// request becomes a task in the inbox, run on the loop thread
// (node_loop.cpp).
#include <algorithm>
#include <chrono>

#include "raft/node/node_impl.h"

namespace dougong::raft {

Result<std::unique_ptr<RaftNode>> RaftNode::Create(NodeOptions options, StateMachine* sm) {
  if (options.id == kNoNode) return InvalidArgument("raft node: id must be > 0");
  if (options.data_dir.empty()) return InvalidArgument("raft node: data_dir is empty");
  if (sm == nullptr) return InvalidArgument("raft node: no state machine");
  if (options.tick <= std::chrono::milliseconds::zero()) return InvalidArgument("raft node: tick must be > 0");
  auto impl = std::make_unique<Impl>();
  impl->sm = sm;

  auto storage = RaftStorage::Open(options.data_dir, options.storage);
  if (!storage.ok()) return storage.status();
  RaftStorage& st = **storage;
  const bool fresh = st.hard_state() == HardState{} && st.snapshot_meta().index == 0 && st.last_index() == 0;
  if (fresh && !options.bootstrap.voters.empty()) {
    // A member of a brand-new cluster; a joining node stays empty and waits
    // for the leader's snapshot.
    if (Status s = st.Bootstrap(BootstrapState(options.bootstrap), sm->Snapshot()); !s.ok()) return s;
  }
  auto snapshot = st.LoadSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  if (!snapshot->empty()) {
    if (Status s = sm->Restore(snapshot->meta.index, snapshot->data); !s.ok()) return s;
  }
  auto initial = st.LoadInitialState();
  if (!initial.ok()) return initial.status();
  Config config = options.raft;
  config.id = options.id;
  // Distinct election timeouts per node, reproducible per configuration.
  config.seed = options.raft.seed * 0x9e3779b97f4a7c15ULL + options.id;
  auto core = Core::Create(config, std::move(*initial));
  if (!core.ok()) return core.status();

  impl->storage = std::move(*storage);
  impl->core = std::move(*core);
  impl->applied = impl->snapshot_index = snapshot->meta.index;
  impl->read_prefix = std::to_string(options.id) + "." +
                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".";

  Impl* raw = impl.get();
  std::shared_ptr<node::Inbox> inbox = impl->inbox;
  node::TransportOptions to;
  to.self = options.id;
  to.self_address = options.address;
  to.rpc_timeout = options.rpc_timeout;
  to.chunk_bytes = std::clamp<size_t>(options.snapshot_chunk_bytes, 1, kMaxSnapshotChunkBytes);
  // Reports from I/O and stream threads become tasks on the loop thread.
  impl->transport = std::make_unique<node::PeerTransport>(
      to,
      [inbox, raw](NodeId peer) {
        inbox->Post([raw, peer](bool live) {
          if (live) raw->core->ReportUnreachable(peer);
        });
      },
      [inbox, raw](NodeId peer, bool ok) {
        inbox->Post([raw, peer, ok](bool live) {
          if (live) raw->core->ReportSnapshot(peer, ok);
        });
      });
  for (const auto& [id, address] : options.peers) impl->transport->SetAddress(id, address);
  impl->service = std::make_unique<node::TransportService>(
      options.id, kMaxSnapshotChunkBytes,
      [inbox, raw](std::vector<Message> batch) {
        return inbox->Post([raw, batch = std::move(batch)](bool live) {
          if (!live) return;
          // A malformed message is the sender's bug; the core ignores it.
          for (const Message& m : batch) (void)raw->core->Step(m);
        });
      },
      [raw](NodeId peer, const std::string& address) { raw->transport->SetAddress(peer, address); });
  impl->published.id = options.id;
  impl->options = std::move(options);
  impl->Publish();
  return std::unique_ptr<RaftNode>(new RaftNode(std::move(impl)));
}

RaftNode::RaftNode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RaftNode::~RaftNode() { Stop(); }

rpc::Service* RaftNode::service() { return impl_->service.get(); }

Status RaftNode::Start() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->stopped) return FailedPrecondition("raft node: stopped; create a new one");
  if (impl_->started) return FailedPrecondition("raft node: already started");
  impl_->started = true;
  {
    std::lock_guard stats(impl_->stats_mu);
    impl_->published.running = true;
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
  return Status::Ok();
}

void RaftNode::Stop() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  auto dropped = impl_->inbox->Close();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->transport->Stop();
  for (auto& task : dropped) task(false);
  impl_->FailPending(Unavailable("raft node stopped"));
  std::lock_guard stats(impl_->stats_mu);
  impl_->published.running = false;
}

Status RaftNode::Impl::Refusal(const Status& core_error) const {
  if (core->role() == Role::kLeader) return core_error;  // e.g. a transfer in progress
  const std::string self = "raft node " + std::to_string(options.id) + ": not the leader";
  NodeId leader = core->leader();
  if (leader == kNoNode) return Unavailable(self + "; no leader known");
  // Forwarding belongs to the caller: it learns where to go.
  return FailedPrecondition(self + "; the leader is node " + std::to_string(leader) + " at " +
                            transport->Address(leader));
}

void RaftNode::Impl::Track(Result<uint64_t> index, IndexCallback done) {
  if (!index.ok()) {
    done(Refusal(index.status()));
    return;
  }
  proposals[*index] = PendingProposal{core->term(), std::move(done)};
}

void RaftNode::Propose(std::string data, IndexCallback done) {
  impl_->inbox->Post([impl = impl_.get(), data = std::move(data), done = std::move(done)](bool live) mutable {
    if (!live) return done(Unavailable("raft node stopped"));
    impl->Track(impl->core->Propose(std::move(data)), std::move(done));
  });
}

void RaftNode::ReadIndex(IndexCallback done) {
  impl_->inbox->Post([impl = impl_.get(), done = std::move(done)](bool live) mutable {
    if (!live) return done(Unavailable("raft node stopped"));
    std::string context = impl->read_prefix + std::to_string(++impl->read_seq);
    if (Status s = impl->core->ReadIndex(context); !s.ok()) return done(impl->Refusal(s));
    impl->reads[context] = Impl::PendingRead{std::move(done), false, 0, impl->options.read_timeout_ticks};
  });
}

void RaftNode::Impl::ProposeChange(ConfChange change, std::string address, IndexCallback done) {
  inbox->Post([this, change, address = std::move(address), done = std::move(done)](bool live) mutable {
    if (!live) return done(Unavailable("raft node stopped"));
    // Known before the change commits, so the leader can replicate to it.
    if (!address.empty()) transport->SetAddress(change.node, address);
    Track(core->ProposeConfChange(change), std::move(done));
  });
}

void RaftNode::AddVoter(NodeId id, std::string address, IndexCallback done) {
  impl_->ProposeChange({ConfChangeType::kAddVoter, id}, std::move(address), std::move(done));
}

void RaftNode::AddLearner(NodeId id, std::string address, IndexCallback done) {
  impl_->ProposeChange({ConfChangeType::kAddLearner, id}, std::move(address), std::move(done));
}

void RaftNode::RemoveNode(NodeId id, IndexCallback done) {
  impl_->ProposeChange({ConfChangeType::kRemoveNode, id}, "", std::move(done));
}

void RaftNode::TransferLeadership(NodeId to, StatusCallback done) {
  impl_->inbox->Post([impl = impl_.get(), to, done = std::move(done)](bool live) mutable {
    if (!live) return done(Unavailable("raft node stopped"));
    Status s = impl->core->TransferLeadership(to);
    done(s.ok() ? s : impl->Refusal(s));
  });
}

void RaftNode::SetPeerAddress(NodeId id, std::string address) { impl_->transport->SetAddress(id, address); }

std::pair<NodeId, std::string> RaftNode::Leader() const {
  NodeId leader;
  {
    std::lock_guard lock(impl_->stats_mu);
    leader = impl_->published.leader;
  }
  return {leader, leader == kNoNode ? std::string() : impl_->transport->Address(leader)};
}

NodeStats RaftNode::Stats() const {
  NodeStats s;
  {
    std::lock_guard lock(impl_->stats_mu);
    s = impl_->published;
  }
  const auto& tc = impl_->transport->counters();
  s.messages_sent = tc.messages_sent;
  s.batches_sent = tc.batches_sent;
  s.send_failures = tc.send_failures;
  s.snapshots_sent = tc.snapshots_sent;
  s.snapshot_chunks_sent = tc.snapshot_chunks_sent;
  const auto& sc = impl_->service->counters();
  s.snapshots_received = sc.snapshots_received;
  s.snapshot_chunks_received = sc.snapshot_chunks_received;
  return s;
}

NodeId RaftNode::id() const { return impl_->options.id; }

}  // namespace dougong::raft
