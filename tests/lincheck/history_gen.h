// Histories from a simulated linearizable register, for the checker's
// randomized tests and its timing: each op gets a random interval and a
// random linearization point inside it; results are computed by applying
// the ops to true registers in linearization-point order.
#pragma once

#include <cstdint>
#include <vector>

#include "history.h"

namespace dougong::lincheck {

struct GenOptions {
  int processes = 5;
  int keys = 1;
  int ops = 200;
  double indeterminate = 0.05;  // share of writes/cas whose answer is lost (half of them took effect)
  double reads = 0.4, writes = 0.3;  // the rest are cas
  int64_t max_gap_ns = 20'000, max_duration_ns = 100'000;
};

struct Generated {
  History history;
  // Per key k ("k0", "k1", ...) and version v: the value it held and the
  // op that wrote it (-1: the initial value).
  std::vector<std::vector<std::string>> values_by_version;
  std::vector<std::vector<int64_t>> writer_by_version;
};

Generated GenerateHistory(uint64_t seed, const GenOptions& options);

// Turns one read into a stale read that no linearization can explain: a read
// ok of version v whose writer finished before the read began now returns
// version v-1. Returns false (history unchanged) if there is no such read.
bool MakeOneReadStale(Generated& g, uint64_t seed);

}  // namespace dougong::lincheck
