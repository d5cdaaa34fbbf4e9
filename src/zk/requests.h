// Request and response bodies by opcode: which record follows a
// RequestHeader / ReplyHeader (Java: FinalRequestProcessor,
// PrepRequestProcessor, ZooKeeperServer.processPacket, ClientCnxn). A packet
// is RequestHeader + body; the connect handshake has no header (packet.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "dougong/base/result.h"
#include "zk/jute.h"
#include "zk/multi.h"
#include "zk/records.h"

namespace dougong::zk {

// monostate: ping, closeSession and whoAmI, which have no body. The opcode
// is needed besides the body: create, create2 and createContainer share
// CreateRequest, multi and multiRead share MultiRequest.
using RequestBody =
    std::variant<std::monostate, CreateRequest, CreateTTLRequest, DeleteRequest, ExistsRequest, GetDataRequest,
                 SetDataRequest, GetACLRequest, SetACLRequest, GetChildrenRequest, SyncRequest,
                 GetChildren2Request, CheckVersionRequest, MultiRequest, ReconfigRequest, CheckWatchesRequest,
                 RemoveWatchesRequest, AuthPacket, SetWatches, GetSASLRequest, GetEphemeralsRequest,
                 GetAllChildrenNumberRequest, SetWatches2, AddWatchRequest>;

// Decodes the body of a request of type `opcode`: exactly the body, trailing
// bytes are an error. Unknown opcodes, and those no client sends
// (notification, error, createSession, deleteContainer: the server makes
// them itself), are INVALID_ARGUMENT.
Result<RequestBody> DecodeRequestBody(int32_t opcode, std::string_view body,
                                      int32_t max_length = jute::kDefaultMaxBuffer);

struct Request {
  RequestHeader header;
  RequestBody body;
};

// One request packet's payload (after the length prefix): header and body.
Result<Request> DecodeRequest(std::string_view payload, int32_t max_length = jute::kDefaultMaxBuffer);

// Appends header and body. Fails (writing nothing) only for a multi whose op
// types do not fit their records; the caller makes `body` fit header.type.
Status EncodeRequest(const RequestHeader& header, const RequestBody& body, std::string* out);

// monostate: no body (delete, auth, ping, setWatches, checkWatches,
// removeWatches, closeSession; and any reply whose ReplyHeader.err != 0).
// check (13) on its own answers SetDataResponse, reconfig GetDataResponse,
// addWatch ErrorResponse{0}.
using ResponseBody =
    std::variant<std::monostate, CreateResponse, Create2Response, ExistsResponse, GetDataResponse,
                 SetDataResponse, GetACLResponse, SetACLResponse, GetChildrenResponse, SyncResponse,
                 GetChildren2Response, MultiResponse, SetSASLResponse, GetEphemeralsResponse,
                 GetAllChildrenNumberResponse, ErrorResponse, WhoAmIResponse>;

// Decodes the body of a successful reply to a request of type `opcode`.
Result<ResponseBody> DecodeResponseBody(int32_t opcode, std::string_view body,
                                        int32_t max_length = jute::kDefaultMaxBuffer);

// Appends a response body (ReplyHeader not included).
Status EncodeResponseBody(const ResponseBody& body, std::string* out);

std::string ToString(const RequestBody& body);
std::string ToString(const ResponseBody& body);

}  // namespace dougong::zk
