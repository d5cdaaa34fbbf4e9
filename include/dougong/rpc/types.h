// Small value types shared by the server and client sides of an RPC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dougong::rpc {

// Ordered key-value pairs; a key may repeat, as in HTTP/2 and gRPC metadata.
using Metadata = std::vector<std::pair<std::string, std::string>>;

// Per-message compression of the body, chosen by the caller. The response
// uses the request's compression unless the handler picks another.
enum class Compression : int { kNone = 0, kLz4 = 1, kZstd = 2 };

// Zipkin/B3-compatible trace context carried with every request.
struct TraceContext {
  uint64_t trace_id_high = 0;
  uint64_t trace_id = 0;
  uint64_t span_id = 0;
  uint64_t parent_span_id = 0;
  bool sampled = false;
};

// Identifies a method to call: full protobuf service name and method name.
struct MethodSpec {
  std::string_view service;  // "package.Service"
  std::string_view method;   // "Method"
  bool idempotent = false;
};

// Looks up `key` in metadata; returns the first value or nullptr.
inline const std::string* FindMetadata(const Metadata& md, std::string_view key) {
  for (const auto& [k, v] : md)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace dougong::rpc
