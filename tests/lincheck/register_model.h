// The sequential specification the checker searches against: one ZooKeeper
// node as a register (value, version) or absent. Values are interned to ids;
// written values that no read ever returned share the id kUnseenValue, which
// makes such writes interchangeable for the search (checker.cpp).
#pragma once

#include <cstdint>

namespace dougong::lincheck {

inline constexpr int32_t kAbsent = -1;      // RegisterState::value of a missing node
inline constexpr int32_t kUnseenValue = 0;  // a value no read returned

struct RegisterState {
  int32_t value = kAbsent;
  int32_t version = 0;
  bool operator==(const RegisterState&) const = default;
};

// One op as the model sees it (a compiled Operation).
struct ModelOp {
  enum class Kind : uint8_t {
    kReadFound,       // read ok: value, version
    kReadAbsent,      // read NONODE
    kWrite,           // setData(-1); result_version checked if >= 0
    kCas,             // setData(expected); result_version checked if >= 0
    kCasBadVersion,   // cas failed BADVERSION: node exists with version != expected
    kObservedAbsent,  // write/cas failed NONODE
  };
  Kind kind = Kind::kReadFound;
  bool maybe = false;  // indeterminate write/cas: no result; it happens (succeeds) once or never
  int32_t value = 0;
  int32_t version = -1;           // read: version read; write/cas: result version (-1 unknown)
  int32_t expected_version = -1;  // cas
};

// Applies `op` to `s`. False if the op cannot take effect (or be observed)
// in state `s`; `out` is the state after it otherwise.
inline bool Step(const ModelOp& op, RegisterState s, RegisterState* out) {
  using K = ModelOp::Kind;
  *out = s;
  const bool exists = s.value != kAbsent;
  switch (op.kind) {
    case K::kReadFound: return exists && s.value == op.value && s.version == op.version;
    case K::kReadAbsent:
    case K::kObservedAbsent: return !exists;
    case K::kCasBadVersion: return exists && s.version != op.expected_version;
    case K::kWrite:
    case K::kCas: {
      const bool applies = exists && (op.kind == K::kWrite || s.version == op.expected_version);
      // An indeterminate op that would fail here is not taken here: failing
      // changes nothing, which "later or never" already covers.
      if (!applies) return false;
      *out = {op.value, s.version + 1};
      return op.version < 0 || out->version == op.version;
    }
  }
  return false;
}

}  // namespace dougong::lincheck
