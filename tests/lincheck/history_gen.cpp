#include "history_gen.h"

#include <algorithm>
#include <random>
#include <string>

namespace dougong::lincheck {

History GenerateHistory(uint64_t seed, const GenOptions& o) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  History h;
  std::vector<std::vector<std::string>> values_by_version(o.keys, {"init"});  // per key
  for (int k = 0; k < o.keys; ++k) h.initial["k" + std::to_string(k)] = {true, "init", 0};

  // Shells: who, when, where, what; linearization points distinct (times
  // are multiples of 4, points odd).
  struct Shell {
    int64_t lin;
    size_t op;
    bool takes_effect;
  };
  std::vector<int64_t> cursor(o.processes, 0);
  std::vector<Shell> shells;
  auto& ops = h.ops;
  for (int i = 0; i < o.ops; ++i) {
    const int p = static_cast<int>(std::min_element(cursor.begin(), cursor.end()) - cursor.begin());
    Operation op;
    op.process = p;
    op.key = "k" + std::to_string(uniform(0, o.keys - 1));
    op.invoke_ns = (cursor[p] + uniform(1, o.max_gap_ns)) * 4;
    op.complete_ns = op.invoke_ns + uniform(1, o.max_duration_ns) * 4;
    cursor[p] = op.complete_ns / 4;
    const double r = std::uniform_real_distribution<double>(0, 1)(rng);
    op.kind = r < o.reads ? OpKind::kRead : r < o.reads + o.writes ? OpKind::kWrite : OpKind::kCas;
    if (op.kind != OpKind::kRead) op.value = "p" + std::to_string(p) + "-" + std::to_string(i);
    bool takes_effect = true;
    if (op.kind != OpKind::kRead && chance(o.indeterminate)) {
      op.outcome = Outcome::kIndeterminate;
      takes_effect = chance(0.5);
    } else {
      op.outcome = Outcome::kOk;
    }
    shells.push_back({uniform(op.invoke_ns / 2, op.complete_ns / 2 - 1) * 2 + 1, ops.size(), takes_effect});
    ops.push_back(std::move(op));
  }
  std::sort(shells.begin(), shells.end(), [](const Shell& a, const Shell& b) { return a.lin < b.lin; });

  // Apply in linearization order.
  for (const Shell& s : shells) {
    Operation& op = ops[s.op];
    const int k = std::stoi(op.key.substr(1));
    auto& values = values_by_version[k];
    const int32_t version = static_cast<int32_t>(values.size()) - 1;
    if (op.kind == OpKind::kRead) {
      op.read_value = values.back();
      op.version = version;
      continue;
    }
    if (op.kind == OpKind::kCas) op.expected_version = chance(0.6) ? version : version + (chance(0.5) ? 1 : -1);
    const bool matches = op.kind == OpKind::kWrite || op.expected_version == version;
    if (op.outcome == Outcome::kIndeterminate) {
      if (!s.takes_effect || !matches) continue;
    } else if (!matches) {
      op.outcome = Outcome::kFailed;
      op.failure = Failure::kBadVersion;
      continue;
    }
    values.push_back(op.value);
    op.version = version + 1;
  }
  for (Operation& op : ops) {
    if (op.outcome == Outcome::kIndeterminate) op.version = -1;
  }
  return h;
}

}  // namespace dougong::lincheck
