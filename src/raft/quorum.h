// Majority quorums over a set of voters.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "dougong/raft/types.h"

namespace dougong::raft {

enum class VoteResult : uint8_t { kPending, kWon, kLost };

inline size_t MajoritySize(size_t voters) { return voters / 2 + 1; }

// The largest index acknowledged by a majority of `voters`; `acked(id)`
// gives each voter's acknowledged index. 0 for no voters.
uint64_t QuorumIndex(const std::set<NodeId>& voters, const std::function<uint64_t(NodeId)>& acked);

// Tally of granted/rejected votes among `voters`.
VoteResult TallyVotes(const std::set<NodeId>& voters, const std::map<NodeId, bool>& votes);

// Whether the nodes in `acks` form a majority of `voters`.
bool HasQuorum(const std::set<NodeId>& voters, const std::set<NodeId>& acks);

}  // namespace dougong::raft
