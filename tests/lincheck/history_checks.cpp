#include "history_checks.h"

#include <map>
#include <utility>

namespace dougong::lincheck {

std::vector<std::string> LostAcknowledgedWrites(const History& h, int final_process) {
  std::map<std::string, const Operation*> final_read;
  for (const Operation& op : h.ops) {
    if (op.process == final_process && op.kind == OpKind::kRead && op.outcome == Outcome::kOk) {
      final_read[op.key] = &op;
    }
  }
  std::vector<std::string> lost;
  const int64_t origin = h.ops.empty() ? 0 : h.ops.front().invoke_ns;
  for (const Operation& op : h.ops) {
    if (op.kind == OpKind::kRead || op.outcome != Outcome::kOk || op.version < 0) continue;
    auto it = final_read.find(op.key);
    if (it == final_read.end()) continue;
    const Operation& f = *it->second;
    if (!f.found || op.version > f.version || (op.version == f.version && op.value != f.read_value)) {
      lost.push_back(op.key + ": " + DescribeOp(op, origin) + "; final read " +
                     (f.found ? "'" + f.read_value + "' v" + std::to_string(f.version) : "NONODE"));
    }
  }
  return lost;
}

std::string PlantStaleRead(History& h, uint64_t pick) {
  std::map<std::pair<std::string, int32_t>, const Operation*> made;  // (key, version) -> acknowledged writer
  for (const Operation& op : h.ops) {
    if (op.kind != OpKind::kRead && op.outcome == Outcome::kOk && op.version >= 0) made[{op.key, op.version}] = &op;
  }
  struct Candidate {
    size_t read;
    std::string before;
  };
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < h.ops.size(); ++i) {
    const Operation& r = h.ops[i];
    if (r.kind != OpKind::kRead || r.outcome != Outcome::kOk || !r.found) continue;
    auto writer = made.find({r.key, r.version});
    if (writer == made.end() || writer->second->complete_ns >= r.invoke_ns) continue;
    if (auto prev = made.find({r.key, r.version - 1}); prev != made.end()) {
      candidates.push_back({i, prev->second->value});
    } else if (auto init = h.initial.find(r.key);
               init != h.initial.end() && init->second.exists && init->second.version == r.version - 1) {
      candidates.push_back({i, init->second.value});
    }
  }
  if (candidates.empty()) return "";
  const Candidate& c = candidates[pick % candidates.size()];
  Operation& r = h.ops[c.read];
  r.version -= 1;
  r.read_value = c.before;
  return DescribeOp(r, h.ops.front().invoke_ns);
}

}  // namespace dougong::lincheck
