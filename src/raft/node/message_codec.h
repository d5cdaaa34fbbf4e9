// The wire encoding of the core's messages between Raft nodes (the
// attachment of RaftTransport.Step, and the header of a snapshot stream).
// All integers little-endian:
//
//   batch    u8 version (1) | u32 count | count x message
//   message  u8 type | u64 from | u64 to | u64 term | u64 log_term | u64 index
//            | u64 commit | u64 reject_hint | u8 flags (1 reject, 2 transfer)
//            | u32 context length | context
//            | u32 entry count | entries: u64 index | u64 term | u8 type
//                                        | u32 length | data
//            | snapshot meta: u64 index | u64 term | u32 n | n x u64 voter
//                             | u32 m | m x u64 learner
//
// A snapshot's data never travels here: the snapshot stream carries it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/raft/types.h"

namespace dougong::raft::node {

inline constexpr uint8_t kCodecVersion = 1;

// Appends the encoding of `m` (without m.snapshot.data) to *out.
void EncodeMessage(const Message& m, std::string* out);
std::string EncodeBatch(const std::vector<const Message*>& batch);

// Strict: every field in range, nothing left over. Errors are INVALID_ARGUMENT.
Result<Message> DecodeMessage(std::string_view data);
Result<std::vector<Message>> DecodeBatch(std::string_view data);

}  // namespace dougong::raft::node
