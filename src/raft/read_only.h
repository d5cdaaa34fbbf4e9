// ReadOnly: ReadIndex requests waiting for a heartbeat quorum to confirm
// that the leader was still the leader when they arrived.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "dougong/raft/types.h"

namespace dougong::raft {

struct ReadRequest {
  std::string context;
  NodeId from = kNoNode;  // the node that asked (the leader itself for local reads)
  uint64_t index = 0;     // the leader's commit index when the request arrived
  std::set<NodeId> acks;
};

class ReadOnly {
 public:
  // Returns false if a request with the same context is pending.
  bool Add(std::string context, NodeId from, uint64_t index, NodeId self);
  // Records a heartbeat acknowledgement carrying `context`; returns the
  // acknowledging set, or nullptr if the context is unknown.
  const std::set<NodeId>* Ack(const std::string& context, NodeId from);
  // Removes and returns the requests up to and including `context`: a quorum
  // for a later request also confirms the earlier ones.
  std::vector<ReadRequest> ReleaseThrough(const std::string& context);
  const std::string* LastContext() const;
  void Reset() {
    queue_.clear();
    pending_.clear();
  }
  size_t size() const { return queue_.size(); }

 private:
  std::deque<std::string> queue_;
  std::unordered_map<std::string, ReadRequest> pending_;
};

}  // namespace dougong::raft
