// The bodies of multi (14) and multiRead (22), which are not jute records
// but hand-written sequences (Java: MultiOperationRecord, MultiResponse):
//
//   request:  { MultiHeader{type, done=false, err=-1}  op record }*
//             MultiHeader{type=-1, done=true, err=-1}
//   response: { MultiHeader{type, done=false, err}  result record }*
//             MultiHeader{type=-1, done=true, err=-1}
//
// Request ops: create/create2/createContainer → CreateRequest, createTTL →
// CreateTTLRequest, delete → DeleteRequest, setData → SetDataRequest, check
// → CheckVersionRequest (the write ops), getChildren → GetChildrenRequest,
// getData → GetDataRequest (the read ops, for multiRead). Results: create →
// CreateResponse, create2 → Create2Response, delete and check → nothing,
// setData → SetDataResponse, getChildren → GetChildrenResponse, getData →
// GetDataResponse, error (-1) → ErrorResponse, with err = its code.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "dougong/base/status.h"
#include "zk/jute.h"
#include "zk/records.h"

namespace dougong::zk {

using MultiOpBody = std::variant<CreateRequest, CreateTTLRequest, DeleteRequest, SetDataRequest,
                                 CheckVersionRequest, GetChildrenRequest, GetDataRequest>;

struct MultiOp {
  int32_t type = 0;  // OpCode; must match the body (create, create2 and createContainer share one)
  MultiOpBody body;
  bool operator==(const MultiOp&) const = default;
};

struct MultiRequest {
  std::vector<MultiOp> ops;
  bool operator==(const MultiRequest&) const = default;
};

// monostate: delete and check, which have no result record.
using MultiResultBody = std::variant<std::monostate, CreateResponse, Create2Response, SetDataResponse,
                                     GetChildrenResponse, GetDataResponse, ErrorResponse>;

struct MultiResult {
  int32_t type = 0;  // OpCode, or -1 (error) for a failed op
  int32_t err = 0;   // MultiHeader.err: 0, or the ErrorCode of an error result
  MultiResultBody body;
  bool operator==(const MultiResult&) const = default;
};

struct MultiResponse {
  std::vector<MultiResult> results;
  bool operator==(const MultiResponse&) const = default;
};

// Encoding refuses (INVALID_ARGUMENT) an op whose type does not fit its body,
// as Java's serialize does, and writes nothing then.
Status EncodeMulti(const MultiRequest& multi, jute::Writer& w);
Status EncodeMulti(const MultiResponse& multi, jute::Writer& w);

// Decoding checks what Java's deserialize checks: known op types, a valid
// CreateMode in create ops, and no mixing of read and write ops.
Status DecodeMulti(jute::Reader& r, MultiRequest* multi);
Status DecodeMulti(jute::Reader& r, MultiResponse* multi);

std::string ToString(const MultiRequest& multi);
std::string ToString(const MultiResponse& multi);

}  // namespace dougong::zk
