// Random numbers for the balancers: splitmix64, cheap, seedable (so tests
// are deterministic) and good enough for spreading load.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/hash.h"

namespace dougong::cluster {

inline constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// A uniform integer in [0, n) from 64 random bits (Lemire's multiply-shift;
// the bias is n / 2^64, far below anything a test could see).
inline uint64_t UniformBelow(uint64_t random_bits, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random_bits) * n) >> 64);
}

// One thread's generator, for the duration of one Select.
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return MixHash(state_ += kGoldenGamma); }
  uint64_t Below(uint64_t n) { return UniformBelow(Next(), n); }

 private:
  uint64_t state_;
};

// A generator shared by all threads calling a balancer: the splitmix state
// advanced with one atomic add, so concurrent Selects need no lock and a
// single-threaded run from a fixed seed is reproducible.
class AtomicRandom {
 public:
  // seed 0: a seed from std::random_device.
  explicit AtomicRandom(uint64_t seed);
  uint64_t Next() {
    return MixHash(state_.fetch_add(kGoldenGamma, std::memory_order_relaxed) + kGoldenGamma);
  }

 private:
  std::atomic<uint64_t> state_;
};

}  // namespace dougong::cluster
