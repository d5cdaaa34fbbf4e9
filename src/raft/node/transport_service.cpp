#include "raft/node/transport_service.h"

#include <optional>

#include "raft/node/message_codec.h"
#include "raft/storage/format.h"

namespace dougong::raft::node {
namespace {

// A snapshot is held in memory while it is assembled (the core's Snapshot
// carries its data as one string anyway); refuse absurd announced sizes.
constexpr uint64_t kMaxSnapshotBytes = 4ull << 30;

}  // namespace

TransportService::TransportService(NodeId self, size_t max_chunk_bytes, DeliverFn deliver, LearnFn learn)
    : transport::RaftTransportBase(rpc::HandlerMode::kCoroutine),
      self_(self),
      max_chunk_bytes_(max_chunk_bytes),
      deliver_(std::move(deliver)),
      learn_(std::move(learn)) {
  Status s = SetHandlerMode("InstallSnapshot", rpc::HandlerMode::kBlocking);
  (void)s;  // the method exists: generated from the same proto
}

rpc::Awaitable<Status> TransportService::CoStep(rpc::ServerContext& ctx, const transport::StepRequest& request,
                                                transport::StepResponse*) {
  co_return HandleStep(ctx, request);
}

Status TransportService::HandleStep(const rpc::ServerContext& ctx, const transport::StepRequest& request) {
  if (request.to() != self_)
    return InvalidArgument("raft transport: message for node " + std::to_string(request.to()) +
                           " reached node " + std::to_string(self_));
  auto batch = DecodeBatch(ctx.request_attachment().view());
  if (!batch.ok()) return batch.status();
  for (const Message& m : *batch)
    if (m.from != request.from() || m.to != self_) return InvalidArgument("raft transport: message addressed inconsistently");
  learn_(request.from(), request.from_address());
  if (!deliver_(std::move(*batch))) return Unavailable("raft node " + std::to_string(self_) + " is stopped");
  return Status::Ok();
}

Status TransportService::InstallSnapshot(rpc::ServerContext& ctx, const transport::InstallSnapshotRequest& request,
                                         transport::InstallSnapshotResponse* response) {
  uint64_t received = 0;
  std::optional<Message> complete;
  Status s = AddChunk(ctx, request, &received, &complete);
  if (!s.ok()) return s;
  counters_.snapshot_chunks_received++;
  response->set_next_offset(received);
  if (!complete) return Status::Ok();
  learn_(request.from(), request.from_address());
  if (!deliver_({std::move(*complete)})) return Unavailable("raft node " + std::to_string(self_) + " is stopped");
  counters_.snapshots_received++;
  return Status::Ok();
}

Status TransportService::AddChunk(const rpc::ServerContext& ctx, const transport::InstallSnapshotRequest& request,
                                  uint64_t* received, std::optional<Message>* complete) {
  if (request.to() != self_) return InvalidArgument("raft transport: snapshot for another node");
  std::string_view data = ctx.request_attachment().view();
  if (data.size() > max_chunk_bytes_) return InvalidArgument("raft transport: snapshot chunk too large");
  std::lock_guard lock(mu_);
  if (request.offset() == 0) {
    // A new stream from this sender replaces any unfinished one.
    auto message = DecodeMessage(request.message());
    if (!message.ok()) return message.status();
    if (message->type != MessageType::kSnapshot || message->from != request.from() ||
        message->snapshot.meta.index != request.snapshot_index())
      return InvalidArgument("raft transport: bad snapshot header");
    if (request.total_size() > kMaxSnapshotBytes) return ResourceExhausted("raft transport: snapshot too large");
    Assembly& a = assembling_[request.from()];
    a = Assembly{request.snapshot_index(), request.total_size(), std::move(*message), {}};
    a.file.reserve(a.total);
  }
  auto it = assembling_.find(request.from());
  if (it == assembling_.end() || it->second.index != request.snapshot_index() ||
      it->second.file.size() != request.offset() || it->second.total != request.total_size() ||
      request.offset() + data.size() > it->second.total) {
    if (it != assembling_.end()) assembling_.erase(it);
    return Status(Code::kAborted, "raft transport: snapshot chunk out of order; restart the stream");
  }
  Assembly& a = it->second;
  a.file.append(data);
  *received = a.file.size();
  if (!request.done()) return Status::Ok();
  Assembly done = std::move(a);
  assembling_.erase(it);
  if (done.file.size() != done.total) return Status(Code::kAborted, "raft transport: snapshot stream ended early");
  // The file's own CRC covers the whole transfer end to end.
  auto snapshot = raft::storage::DecodeSnapshotFile(done.file);
  if (!snapshot.ok()) return snapshot.status();
  if (!(snapshot->meta == done.message.snapshot.meta))
    return InvalidArgument("raft transport: snapshot file does not match its message");
  done.message.snapshot = std::move(*snapshot);
  *complete = std::move(done.message);
  return Status::Ok();
}

}  // namespace dougong::raft::node
