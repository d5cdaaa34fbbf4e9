#include "raft/read_only.h"

namespace dougong::raft {

bool ReadOnly::Add(std::string context, NodeId from, uint64_t index, NodeId self) {
  if (pending_.count(context) != 0) return false;
  ReadRequest req{context, from, index, {self}};
  queue_.push_back(context);
  pending_.emplace(std::move(context), std::move(req));
  return true;
}

const std::set<NodeId>* ReadOnly::Ack(const std::string& context, NodeId from) {
  auto it = pending_.find(context);
  if (it == pending_.end()) return nullptr;
  it->second.acks.insert(from);
  return &it->second.acks;
}

std::vector<ReadRequest> ReadOnly::ReleaseThrough(const std::string& context) {
  std::vector<ReadRequest> out;
  if (pending_.count(context) == 0) return out;
  while (!queue_.empty()) {
    std::string ctx = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(ctx);
    out.push_back(std::move(it->second));
    pending_.erase(it);
    if (ctx == context) break;
  }
  return out;
}

const std::string* ReadOnly::LastContext() const { return queue_.empty() ? nullptr : &queue_.back(); }

}  // namespace dougong::raft
