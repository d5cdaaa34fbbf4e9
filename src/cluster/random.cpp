#include "cluster/random.h"

#include <random>

namespace dougong::cluster {

AtomicRandom::AtomicRandom(uint64_t seed) {
  if (seed == 0) {
    std::random_device rd;
    seed = (uint64_t{rd()} << 32) | rd();
  }
  state_.store(seed, std::memory_order_relaxed);
}

}  // namespace dougong::cluster
