// OptionCheck: the field checks of an options struct, written once for two
// uses. Validate() runs them on a copy and reports the first bad field; a
// primitive's constructor runs them on its own copy and keeps the repairs
// (bad fields put back to their defaults), so that any options work.
//
//   Status Check(FooOptions& o) {
//     const FooOptions d;
//     OptionCheck c;
//     if (c.Bad(o.rate > 0, "foo: rate must be > 0")) o.rate = d.rate;
//     return c.status();
//   }
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

#include "dougong/base/status.h"

namespace dougong::cluster {

class OptionCheck {
 public:
  // True when the field is bad (the caller then repairs it); the first bad
  // field's message is kept.
  bool Bad(bool ok, std::string_view message) {
    if (!ok && status_.ok()) status_ = InvalidArgument(std::string(message));
    return !ok;
  }
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// A finite number >= min (NaN fails).
inline bool FiniteAtLeast(double value, double min) { return std::isfinite(value) && value >= min; }

// A rolling window of at least one bucket, each at least 1 ns long.
inline bool ValidWindow(std::chrono::nanoseconds window, int buckets) {
  return buckets >= 1 && window.count() >= buckets;
}

// The options with every bad field repaired; `check` is the options' Check.
template <class Options>
Options Repaired(Options options, Status (*check)(Options&)) {
  (void)check(options);
  return options;
}

}  // namespace dougong::cluster
