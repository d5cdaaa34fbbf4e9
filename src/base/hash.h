// Fast non-cryptographic 64-bit hashing of byte strings, stable across runs
// and little-endian platforms (the keeper's snapshot digest depends on it), 8 bytes per
// step instead of FNV's one.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace dougong {

// splitmix64's finalizer: every input bit affects every output bit.
inline uint64_t MixHash(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Folds one 64-bit word into a running hash.
inline uint64_t HashCombine(uint64_t h, uint64_t word) {
  h ^= word * 0x9e3779b97f4a7c15ULL;
  h = (h << 31) | (h >> 33);
  return h * 0xff51afd7ed558ccdULL;
}

inline uint64_t HashBytes(std::string_view s, uint64_t seed = 0) {
  uint64_t h = HashCombine(seed, s.size());
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = HashCombine(h, w);
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = HashCombine(h, w);
  }
  return MixHash(h);
}

}  // namespace dougong
