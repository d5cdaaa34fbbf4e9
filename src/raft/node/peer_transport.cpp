#include "raft/node/peer_transport.h"

#include <fcntl.h>

#include <algorithm>

#include "dougong/raft/raft.dougong.h"
#include "dougong/rpc/channel.h"
#include "raft/node/message_codec.h"

namespace dougong::raft::node {

PeerTransport::PeerTransport(TransportOptions options, UnreachableFn on_unreachable,
                             SnapshotDoneFn on_snapshot_done)
    : options_(std::move(options)),
      on_unreachable_(std::move(on_unreachable)),
      on_snapshot_done_(std::move(on_snapshot_done)) {}

PeerTransport::~PeerTransport() { Stop(); }

void PeerTransport::SetAddress(NodeId peer, const std::string& address) {
  if (peer == options_.self || address.empty()) return;
  std::lock_guard lock(mu_);
  Peer& p = peers_[peer];
  if (p.address == address) return;
  p.address = address;
  p.channel.reset();  // the next send connects to the new address
}

std::string PeerTransport::Address(NodeId peer) const {
  if (peer == options_.self) return options_.self_address;
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer);
  return it == peers_.end() ? std::string() : it->second.address;
}

Result<std::shared_ptr<rpc::Channel>> PeerTransport::ChannelFor(NodeId peer) {
  std::lock_guard lock(mu_);
  if (stopped_) return Unavailable("raft transport stopped");
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.address.empty())
    return Unavailable("raft transport: no address for node " + std::to_string(peer));
  Peer& p = it->second;
  if (!p.channel) {
    rpc::ChannelOptions co;
    co.connection_type = rpc::ChannelOptions::ConnectionType::kSingle;
    co.connect_timeout = options_.rpc_timeout;
    // A restarted peer must be found again within an election timeout or
    // so, not after the default 10 s backoff cap.
    co.backoff_max = options_.rpc_timeout;
    auto ch = rpc::Channel::Create(p.address, co);
    if (!ch.ok()) return ch.status();
    p.channel = std::move(*ch);
  }
  return p.channel;
}

void PeerTransport::Send(const std::vector<Message>& messages) {
  std::map<NodeId, std::vector<const Message*>> by_peer;
  for (const Message& m : messages) by_peer[m.to].push_back(&m);
  for (const auto& [to, batch] : by_peer) {
    auto channel = ChannelFor(to);
    if (!channel.ok()) {
      counters_->send_failures++;
      on_unreachable_(to);
      continue;
    }
    // Request and context must live until the completion runs.
    auto request = std::make_shared<transport::StepRequest>();
    request->set_from(options_.self);
    request->set_to(to);
    request->set_from_address(options_.self_address);
    auto ctx = std::make_shared<rpc::ClientContext>();
    ctx->set_timeout(options_.rpc_timeout);
    ctx->set_attachment(Bytes::FromString(EncodeBatch(batch)));
    counters_->batches_sent++;
    counters_->messages_sent += batch.size();
    transport::RaftTransportStub(*channel).AsyncStep(
        *request, ctx.get(),
        [request, ctx, counters = counters_, report = on_unreachable_, to](Result<transport::StepResponse> r) {
          if (r.ok()) return;
          counters->send_failures++;
          report(to);
        });
  }
}

void PeerTransport::SendSnapshot(const Message& m, UniqueFd file, std::string path) {
  auto channel = ChannelFor(m.to);
  if (!channel.ok()) {
    on_snapshot_done_(m.to, false);
    return;
  }
  std::lock_guard lock(mu_);
  // Reap finished streams so that the list stays short.
  for (Stream& s : streams_)
    if (s.finished->load() && s.thread.joinable()) s.thread.join();
  std::erase_if(streams_, [](const Stream& s) { return !s.thread.joinable(); });
  auto finished = std::make_shared<std::atomic<bool>>(false);
  std::thread t([this, m, fd = std::make_shared<UniqueFd>(std::move(file)), path = std::move(path),
                 channel = std::move(*channel), finished] {
    bool ok = StreamSnapshot(m, fd->get(), path, channel);
    if (ok) counters_->snapshots_sent++;
    on_snapshot_done_(m.to, ok);
    finished->store(true);
  });
  streams_.push_back(Stream{std::move(t), std::move(finished)});
}

bool PeerTransport::StreamSnapshot(const Message& m, int fd, const std::string& path,
                                   std::shared_ptr<rpc::Channel> channel) {
  auto size = FileSize(fd, path);
  if (!size.ok() || *size == 0) return false;
  std::string header;
  EncodeMessage(m, &header);
  transport::RaftTransportStub stub(std::move(channel));
  uint64_t offset = 0;
  while (offset < *size) {
    if (stopping_.load()) return false;
    size_t n = static_cast<size_t>(std::min<uint64_t>(options_.chunk_bytes, *size - offset));
    std::string chunk(n, '\0');
    auto got = PreadAll(fd, path, chunk.data(), n, offset);
    if (!got.ok() || *got != n) return false;
    transport::InstallSnapshotRequest request;
    request.set_from(options_.self);
    request.set_to(m.to);
    request.set_from_address(options_.self_address);
    request.set_snapshot_index(m.snapshot.meta.index);
    request.set_offset(offset);
    request.set_total_size(*size);
    request.set_done(offset + n == *size);
    if (offset == 0) request.set_message(header);
    rpc::ClientContext ctx;
    ctx.set_timeout(2 * options_.rpc_timeout);
    ctx.set_attachment(Bytes::FromString(std::move(chunk)));
    auto r = stub.InstallSnapshot(request, &ctx);
    if (!r.ok() || r->next_offset() != offset + n) return false;
    offset += n;
    counters_->snapshot_chunks_sent++;
  }
  return true;
}

void PeerTransport::Stop() {
  std::vector<Stream> streams;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_.store(true);
    streams.swap(streams_);
  }
  for (Stream& s : streams)
    if (s.thread.joinable()) s.thread.join();
  std::map<NodeId, Peer> peers;
  {
    std::lock_guard lock(mu_);
    peers.swap(peers_);
  }
  // Channels go here, outside the lock: their destruction waits for I/O.
}

}  // namespace dougong::raft::node
