// Picks one of a stream of (index, weight) candidates with probability
// weight / total, in one pass and without storing them (reservoir sampling
// for one item: the i-th candidate replaces the choice with probability
// w_i / (w_1 + ... + w_i)). The balancers that first narrow candidates down
// (least active, shortest response) can thus read each provider's atomics
// once and need no scratch array. When every weight is 0 the pick is
// uniform, as Dubbo does for a total weight of 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "cluster/random.h"

namespace dougong::cluster {

class WeightedReservoir {
 public:
  explicit WeightedReservoir(uint64_t seed) : rng_(seed) {}

  // Forgets the candidates offered so far (a better group was found).
  void Reset() {
    count_ = 0;
    total_weight_ = 0;
  }

  void Offer(size_t index, int64_t weight) {
    ++count_;
    if (rng_.Below(count_) == 0) uniform_choice_ = index;
    if (weight > 0) {
      total_weight_ += weight;
      if (rng_.Below(static_cast<uint64_t>(total_weight_)) < static_cast<uint64_t>(weight)) {
        weighted_choice_ = index;
      }
    }
  }

  std::optional<size_t> Pick() const {
    if (count_ == 0) return std::nullopt;
    return total_weight_ > 0 ? weighted_choice_ : uniform_choice_;
  }

 private:
  SplitMix rng_;
  uint64_t count_ = 0;
  int64_t total_weight_ = 0;
  size_t uniform_choice_ = 0;
  size_t weighted_choice_ = 0;
};

}  // namespace dougong::cluster
