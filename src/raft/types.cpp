#include "dougong/raft/types.h"

#include <charconv>

namespace dougong::raft {

// Encoding: one letter for the type, then the node id in decimal ("v3").
std::string EncodeConfChange(const ConfChange& cc) {
  char kind = cc.type == ConfChangeType::kAddVoter     ? 'v'
              : cc.type == ConfChangeType::kAddLearner ? 'l'
                                                       : 'r';
  return kind + std::to_string(cc.node);
}

Result<ConfChange> DecodeConfChange(std::string_view data) {
  if (data.size() < 2) return InvalidArgument("conf change: too short");
  ConfChange cc;
  switch (data[0]) {
    case 'v': cc.type = ConfChangeType::kAddVoter; break;
    case 'l': cc.type = ConfChangeType::kAddLearner; break;
    case 'r': cc.type = ConfChangeType::kRemoveNode; break;
    default: return InvalidArgument("conf change: unknown type");
  }
  auto [end, ec] = std::from_chars(data.data() + 1, data.data() + data.size(), cc.node);
  if (ec != std::errc() || end != data.data() + data.size() || cc.node == kNoNode) {
    return InvalidArgument("conf change: bad node id");
  }
  return cc;
}

Status ValidateConfChange(const ConfState& conf, const ConfChange& cc) {
  if (cc.node == kNoNode) return InvalidArgument("conf change: node id 0");
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
      if (conf.IsVoter(cc.node)) return InvalidArgument("conf change: already a voter");
      return Status::Ok();
    case ConfChangeType::kAddLearner:
      if (conf.IsMember(cc.node)) return InvalidArgument("conf change: already a member");
      return Status::Ok();
    case ConfChangeType::kRemoveNode:
      if (!conf.IsMember(cc.node)) return NotFound("conf change: not a member");
      if (conf.IsVoter(cc.node) && conf.voters.size() == 1) {
        return InvalidArgument("conf change: cannot remove the last voter");
      }
      return Status::Ok();
  }
  return InvalidArgument("conf change: unknown type");
}

void ApplyConfChangeTo(ConfState& conf, const ConfChange& cc) {
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
      conf.learners.erase(cc.node);
      conf.voters.insert(cc.node);
      break;
    case ConfChangeType::kAddLearner:
      if (!conf.IsVoter(cc.node)) conf.learners.insert(cc.node);
      break;
    case ConfChangeType::kRemoveNode:
      conf.voters.erase(cc.node);
      conf.learners.erase(cc.node);
      break;
  }
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResp: return "PreVoteResp";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResp: return "VoteResp";
    case MessageType::kAppend: return "Append";
    case MessageType::kAppendResp: return "AppendResp";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResp: return "HeartbeatResp";
    case MessageType::kSnapshot: return "Snapshot";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResp: return "ReadIndexResp";
  }
  return "Unknown";
}

}  // namespace dougong::raft
