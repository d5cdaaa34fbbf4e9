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

// Ops whose answer was lost (indeterminate) took effect or not, half and
// half; the history says only "indeterminate".
History GenerateHistory(uint64_t seed, const GenOptions& options);

}  // namespace dougong::lincheck
