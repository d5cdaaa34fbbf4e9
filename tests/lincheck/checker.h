// Linearizability checker for ZooKeeper-style registers (docs/linearizability.md).
//
// Each key is a register holding (value, version) or absent, with
// ZooKeeper's semantics: setData(-1) writes and increments the version,
// setData(v) does so only if the version is v (else BADVERSION), getData
// returns value and version, NONODE when absent. Keys are independent
// (linearizability is compositional), so each key's sub-history is checked
// on its own with Wing & Gong's search as improved by Lowe: just-in-time
// linearization over a list of call/return events, and a cache of
// (set of linearized ops, register state) already explored. Indeterminate
// ops may take effect at any point after their invoke, or never.
//
//   History h = ...;
//   CheckReport r = CheckHistory(h);
//   if (r.verdict != Verdict::kLinearizable) puts(r.Summary().c_str());
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "history.h"

namespace dougong::lincheck {

enum class Verdict {
  kLinearizable,
  kViolation,
  kUnknown,  // the search hit a cap (states or time) before an answer
};

const char* VerdictName(Verdict v);

struct CheckOptions {
  // Per key: cached (set, state) pairs before giving up with kUnknown. Each
  // costs 24 bytes, at most half the table is used: 4 M states is a table
  // of 200 MB (300 MB while it grows).
  uint64_t max_states_per_key = 4'000'000;
  std::chrono::milliseconds max_time_per_key{60'000};
  // Ops listed before the offending one in an explanation.
  int explain_context = 6;
};

struct KeyReport {
  std::string key;
  Verdict verdict = Verdict::kLinearizable;
  size_t ops = 0;          // ops of this key that constrain the register
  uint64_t states = 0;     // cached states explored
  double seconds = 0;
  std::string explanation;  // violation: the offending op, the state, the ops around it; unknown: which cap
};

struct CheckReport {
  Verdict verdict = Verdict::kLinearizable;  // worst of the keys (violation > unknown > ok)
  std::vector<KeyReport> keys;
  uint64_t states = 0;
  double seconds = 0;
  // One paragraph per key that is not linearizable.
  std::string Summary() const;
};

CheckReport CheckHistory(const History& history, const CheckOptions& options = {});

}  // namespace dougong::lincheck
