#include "rpc/compression.h"

#include <lz4.h>
#include <zstd.h>

#include <fmt/format.h>

namespace dougong::rpc {

bool IsValidCompression(int value) { return value >= 0 && value <= 2; }

Status Compress(Compression type, std::string_view in, std::string* out) {
  switch (type) {
    case Compression::kNone:
      out->append(in);
      return {};
    case Compression::kLz4: {
      if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE))
        return InvalidArgument("message too large for lz4");
      size_t base = out->size();
      int bound = LZ4_compressBound(static_cast<int>(in.size()));
      out->resize(base + 4 + bound);
      uint32_t n = static_cast<uint32_t>(in.size());
      char* p = out->data() + base;
      p[0] = static_cast<char>(n >> 24);
      p[1] = static_cast<char>(n >> 16);
      p[2] = static_cast<char>(n >> 8);
      p[3] = static_cast<char>(n);
      int written = LZ4_compress_default(in.data(), p + 4, static_cast<int>(in.size()), bound);
      if (written <= 0 && !in.empty()) return Internal("lz4 compression failed");
      out->resize(base + 4 + written);
      return {};
    }
    case Compression::kZstd: {
      size_t base = out->size();
      size_t bound = ZSTD_compressBound(in.size());
      out->resize(base + bound);
      size_t written = ZSTD_compress(out->data() + base, bound, in.data(), in.size(), 1);
      if (ZSTD_isError(written)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(written)));
      out->resize(base + written);
      return {};
    }
  }
  return InvalidArgument("unknown compression");
}

Status Decompress(Compression type, std::string_view in, size_t max_size, std::string* out) {
  out->clear();
  switch (type) {
    case Compression::kNone:
      out->assign(in);
      return {};
    case Compression::kLz4: {
      if (in.size() < 4) return {Code::kDataLoss, "lz4 body shorter than its size prefix"};
      auto b = reinterpret_cast<const unsigned char*>(in.data());
      size_t n = (size_t{b[0]} << 24) | (size_t{b[1]} << 16) | (size_t{b[2]} << 8) | b[3];
      if (n > max_size)
        return ResourceExhausted(fmt::format("lz4 body expands to {} bytes, limit {}", n, max_size));
      out->resize(n);
      int got = LZ4_decompress_safe(in.data() + 4, out->data(), static_cast<int>(in.size() - 4),
                                    static_cast<int>(n));
      if (got < 0 || static_cast<size_t>(got) != n) return {Code::kDataLoss, "corrupt lz4 body"};
      return {};
    }
    case Compression::kZstd: {
      unsigned long long n = ZSTD_getFrameContentSize(in.data(), in.size());
      if (n == ZSTD_CONTENTSIZE_ERROR) return {Code::kDataLoss, "corrupt zstd body"};
      if (n == ZSTD_CONTENTSIZE_UNKNOWN) {
        // Streamed frames carry no size: decompress in steps up to the limit.
        ZSTD_DCtx* dctx = ZSTD_createDCtx();
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        std::string chunk(64 * 1024, '\0');
        Status st;
        while (true) {
          ZSTD_outBuffer output{chunk.data(), chunk.size(), 0};
          size_t r = ZSTD_decompressStream(dctx, &output, &input);
          if (ZSTD_isError(r)) { st = {Code::kDataLoss, "corrupt zstd body"}; break; }
          out->append(chunk.data(), output.pos);
          if (out->size() > max_size) { st = ResourceExhausted("zstd body too large"); break; }
          if (r == 0) break;
          if (input.pos == input.size && output.pos < output.size) {
            st = {Code::kDataLoss, "truncated zstd body"};
            break;
          }
        }
        ZSTD_freeDCtx(dctx);
        return st;
      }
      if (n > max_size)
        return ResourceExhausted(fmt::format("zstd body expands to {} bytes, limit {}", n, max_size));
      out->resize(n);
      size_t got = ZSTD_decompress(out->data(), n, in.data(), in.size());
      if (ZSTD_isError(got) || got != n) return {Code::kDataLoss, "corrupt zstd body"};
      return {};
    }
  }
  return InvalidArgument("unknown compression");
}

}  // namespace dougong::rpc
