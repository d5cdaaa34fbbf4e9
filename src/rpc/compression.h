// Body compression for the native protocol: none, lz4 (block format with a
// 4-byte big-endian uncompressed size in front) and zstd (standard frames).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "dougong/base/status.h"
#include "dougong/rpc/types.h"

namespace dougong::rpc {

bool IsValidCompression(int value);
// Appends the compressed form of `in` to `out`.
Status Compress(Compression type, std::string_view in, std::string* out);
// Replaces `out` with the decompressed form of `in`. Refuses (DATA_LOSS or
// RESOURCE_EXHAUSTED) corrupt input and output larger than `max_size`, so a
// small frame cannot expand into an unbounded allocation.
Status Decompress(Compression type, std::string_view in, size_t max_size, std::string* out);

}  // namespace dougong::rpc
