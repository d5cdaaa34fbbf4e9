// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the
// checksum of the keeper's and Raft's log records and snapshots
// (docs/keeper_storage.md, docs/raft.md).
//
// Two implementations with identical results: SSE4.2's crc32 instruction
// (used when the CPU has it, detected once at run time) and a portable
// slicing-by-8 table version. Crc32c() picks the fast one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dougong {

// CRC-32C of `data` continuing from the CRC `crc` of the bytes before it
// (0 for none): Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }
inline uint32_t Crc32c(std::string_view s) { return Crc32cExtend(0, s.data(), s.size()); }

// The two implementations, for tests and benchmarks.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t size);
// Only valid when Crc32cHardwareAvailable().
uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t size);
bool Crc32cHardwareAvailable();

}  // namespace dougong
