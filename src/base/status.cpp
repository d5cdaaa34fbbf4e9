#include "dougong/base/status.h"

#include <array>

namespace dougong {

namespace {
constexpr std::array<std::string_view, kNumCodes> kCodeNames = {
    "OK",       "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",     "UNIMPLEMENTED",    "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS",       "UNAUTHENTICATED",
};
}  // namespace

Code CodeFromInt(int value) {
  if (value < 0 || value >= kNumCodes) return Code::kUnknown;
  return static_cast<Code>(value);
}

std::string_view CodeName(Code code) {
  int i = static_cast<int>(code);
  if (i < 0 || i >= kNumCodes) return "UNKNOWN";
  return kCodeNames[i];
}

std::string Status::ToString() const {
  std::string out(CodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace dougong
