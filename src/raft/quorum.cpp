#include "raft/quorum.h"

#include <algorithm>
#include <vector>

namespace dougong::raft {

uint64_t QuorumIndex(const std::set<NodeId>& voters, const std::function<uint64_t(NodeId)>& acked) {
  if (voters.empty()) return 0;
  std::vector<uint64_t> idx;
  idx.reserve(voters.size());
  for (NodeId id : voters) idx.push_back(acked(id));
  std::sort(idx.begin(), idx.end(), std::greater<>());
  return idx[MajoritySize(voters.size()) - 1];
}

VoteResult TallyVotes(const std::set<NodeId>& voters, const std::map<NodeId, bool>& votes) {
  size_t granted = 0, rejected = 0;
  for (NodeId id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  size_t need = MajoritySize(voters.size());
  if (granted >= need) return VoteResult::kWon;
  if (voters.size() - rejected < need) return VoteResult::kLost;
  return VoteResult::kPending;
}

bool HasQuorum(const std::set<NodeId>& voters, const std::set<NodeId>& acks) {
  size_t n = 0;
  for (NodeId id : voters) n += acks.count(id);
  return !voters.empty() && n >= MajoritySize(voters.size());
}

}  // namespace dougong::raft
