// Linearizable reads: ReadIndex (and the lease-read option).
#include "raft/raft.h"

#include "raft/quorum.h"

namespace dougong::raft {

void Raft::RespondRead(const ReadRequest& req) {
  if (req.from == cfg_.id) {
    read_states_.push_back(ReadState{req.index, req.context});
    return;
  }
  Message m;
  m.type = MessageType::kReadIndexResp;
  m.to = req.from;
  m.index = req.index;
  m.context = req.context;
  Send(std::move(m));
}

Status Raft::HandleReadRequest(std::string context, NodeId from) {
  // Until an entry of this term commits, our commit index may be behind
  // what the previous leader acknowledged.
  if (!CommittedInTerm()) return Unavailable("raft: leader has not committed an entry of its term yet");
  ReadRequest req{std::move(context), from, log_.commit(), {}};
  if (conf_.voters.size() == 1 || cfg_.lease_read) {
    RespondRead(req);
    return Status::Ok();
  }
  if (!read_only_.Add(req.context, from, req.index, cfg_.id)) {
    return Status(Code::kAlreadyExists, "raft: read context already pending");
  }
  BcastHeartbeat();
  return Status::Ok();
}

Status Raft::ReadIndex(std::string context) {
  if (role_ == Role::kLeader) return HandleReadRequest(std::move(context), cfg_.id);
  if (lead_ == kNoNode) return Unavailable("raft: no known leader");
  Message m;
  m.type = MessageType::kReadIndex;
  m.to = lead_;
  m.context = std::move(context);
  Send(std::move(m));
  return Status::Ok();
}

}  // namespace dougong::raft
