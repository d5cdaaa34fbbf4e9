#include "zk/requests.h"

#include "zk/protocol.h"
#include "zk/record.h"

namespace dougong::zk {
namespace {

Status CheckEnd(const jute::Reader& r, std::string_view what) {
  if (r.at_end()) return Status::Ok();
  return InvalidArgument(std::string(what) + ": " + std::to_string(r.remaining()) +
                         " unexpected bytes after the body at offset " + std::to_string(r.offset()));
}

// Decodes the whole of `body` as T into a Variant.
template <class T, class Variant>
Result<Variant> As(std::string_view body, int32_t max_length) {
  T record{};
  jute::Reader r(body, max_length);
  Status s;
  if constexpr (std::is_same_v<T, MultiRequest> || std::is_same_v<T, MultiResponse>) {
    s = DecodeMulti(r, &record);
  } else if constexpr (std::is_same_v<T, std::monostate>) {
    // no body
  } else {
    s = jute::Decode(r, &record);
  }
  if (s.ok()) s = CheckEnd(r, "body");
  if (!s.ok()) return s;
  return Variant(std::move(record));
}

Status Unknown(int32_t opcode, const char* side) {
  return InvalidArgument(std::string("unknown ") + side + " opcode " + std::to_string(opcode));
}

}  // namespace

Result<RequestBody> DecodeRequestBody(int32_t opcode, std::string_view body, int32_t max_length) {
  using V = RequestBody;
  switch (static_cast<OpCode>(opcode)) {
    case OpCode::kPing:
    case OpCode::kCloseSession:
    case OpCode::kWhoAmI: return As<std::monostate, V>(body, max_length);
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer: return As<CreateRequest, V>(body, max_length);
    case OpCode::kCreateTTL: return As<CreateTTLRequest, V>(body, max_length);
    case OpCode::kDelete: return As<DeleteRequest, V>(body, max_length);
    case OpCode::kExists: return As<ExistsRequest, V>(body, max_length);
    case OpCode::kGetData: return As<GetDataRequest, V>(body, max_length);
    case OpCode::kSetData: return As<SetDataRequest, V>(body, max_length);
    case OpCode::kGetACL: return As<GetACLRequest, V>(body, max_length);
    case OpCode::kSetACL: return As<SetACLRequest, V>(body, max_length);
    case OpCode::kGetChildren: return As<GetChildrenRequest, V>(body, max_length);
    case OpCode::kSync: return As<SyncRequest, V>(body, max_length);
    case OpCode::kGetChildren2: return As<GetChildren2Request, V>(body, max_length);
    case OpCode::kCheck: return As<CheckVersionRequest, V>(body, max_length);
    case OpCode::kMulti:
    case OpCode::kMultiRead: return As<MultiRequest, V>(body, max_length);
    case OpCode::kReconfig: return As<ReconfigRequest, V>(body, max_length);
    case OpCode::kCheckWatches: return As<CheckWatchesRequest, V>(body, max_length);
    case OpCode::kRemoveWatches: return As<RemoveWatchesRequest, V>(body, max_length);
    case OpCode::kAuth: return As<AuthPacket, V>(body, max_length);
    case OpCode::kSetWatches: return As<SetWatches, V>(body, max_length);
    case OpCode::kSasl: return As<GetSASLRequest, V>(body, max_length);
    case OpCode::kGetEphemerals: return As<GetEphemeralsRequest, V>(body, max_length);
    case OpCode::kGetAllChildrenNumber: return As<GetAllChildrenNumberRequest, V>(body, max_length);
    case OpCode::kSetWatches2: return As<SetWatches2, V>(body, max_length);
    case OpCode::kAddWatch: return As<AddWatchRequest, V>(body, max_length);
    // Made by the server itself (session tracker, container manager), or not
    // requests at all: a client sending them is broken or hostile.
    case OpCode::kNotification:
    case OpCode::kError:
    case OpCode::kCreateSession:
    case OpCode::kDeleteContainer:
      return InvalidArgument("opcode " + std::to_string(opcode) + " (" + std::string(OpCodeName(opcode)) +
                             ") is not a client request");
  }
  return Unknown(opcode, "request");
}

Result<Request> DecodeRequest(std::string_view payload, int32_t max_length) {
  Request req;
  jute::Reader r(payload, max_length);
  if (Status s = jute::Decode(r, &req.header); !s.ok()) return s;
  Result<RequestBody> body = DecodeRequestBody(req.header.type, r.rest(), max_length);
  if (!body.ok()) {
    return Status(body.status().code(), std::string(OpCodeName(req.header.type)) + " request (xid " +
                                            std::to_string(req.header.xid) + "): " + body.status().message());
  }
  req.body = std::move(body).value();
  return req;
}

namespace {
// Encodes whichever record a request or response body holds; multis have
// their own framing, an empty body encodes to nothing.
template <class Multi, class Variant>
Status EncodeBody(const Variant& body, jute::Writer& w) {
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Multi>) {
          return EncodeMulti(b, w);
        } else if constexpr (!std::is_same_v<T, std::monostate>) {
          jute::Encode(b, w);
        }
        return Status::Ok();
      },
      body);
}
}  // namespace

Status EncodeRequest(const RequestHeader& header, const RequestBody& body, std::string* out) {
  std::string bytes;
  jute::Writer w(&bytes);
  jute::Encode(header, w);
  Status s = EncodeBody<MultiRequest>(body, w);
  if (s.ok()) out->append(bytes);
  return s;
}

Result<ResponseBody> DecodeResponseBody(int32_t opcode, std::string_view body, int32_t max_length) {
  using V = ResponseBody;
  switch (static_cast<OpCode>(opcode)) {
    case OpCode::kPing:
    case OpCode::kCloseSession:
    case OpCode::kCreateSession:
    case OpCode::kDelete:
    case OpCode::kDeleteContainer:
    case OpCode::kAuth:
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
    case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches: return As<std::monostate, V>(body, max_length);
    case OpCode::kCreate: return As<CreateResponse, V>(body, max_length);
    case OpCode::kCreate2:
    case OpCode::kCreateTTL:
    case OpCode::kCreateContainer: return As<Create2Response, V>(body, max_length);
    case OpCode::kExists: return As<ExistsResponse, V>(body, max_length);
    case OpCode::kGetData:
    case OpCode::kReconfig: return As<GetDataResponse, V>(body, max_length);
    case OpCode::kSetData:
    case OpCode::kCheck: return As<SetDataResponse, V>(body, max_length);
    case OpCode::kGetACL: return As<GetACLResponse, V>(body, max_length);
    case OpCode::kSetACL: return As<SetACLResponse, V>(body, max_length);
    case OpCode::kGetChildren: return As<GetChildrenResponse, V>(body, max_length);
    case OpCode::kSync: return As<SyncResponse, V>(body, max_length);
    case OpCode::kGetChildren2: return As<GetChildren2Response, V>(body, max_length);
    case OpCode::kMulti:
    case OpCode::kMultiRead: return As<MultiResponse, V>(body, max_length);
    case OpCode::kSasl: return As<SetSASLResponse, V>(body, max_length);
    case OpCode::kGetEphemerals: return As<GetEphemeralsResponse, V>(body, max_length);
    case OpCode::kGetAllChildrenNumber: return As<GetAllChildrenNumberResponse, V>(body, max_length);
    case OpCode::kAddWatch: return As<ErrorResponse, V>(body, max_length);
    case OpCode::kWhoAmI: return As<WhoAmIResponse, V>(body, max_length);
    case OpCode::kNotification:
    case OpCode::kError: break;
  }
  return Unknown(opcode, "response");
}

Status EncodeResponseBody(const ResponseBody& body, std::string* out) {
  std::string bytes;
  jute::Writer w(&bytes);
  Status s = EncodeBody<MultiResponse>(body, w);
  if (s.ok()) out->append(bytes);
  return s;
}

namespace {

template <class Variant>
std::string Print(const Variant& v) {
  return std::visit(
      [](const auto& b) -> std::string {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "(no body)";
        } else if constexpr (std::is_same_v<T, MultiRequest> || std::is_same_v<T, MultiResponse>) {
          return ToString(b);
        } else {
          return jute::ToString(b);
        }
      },
      v);
}

}  // namespace

std::string ToString(const RequestBody& body) { return Print(body); }
std::string ToString(const ResponseBody& body) { return Print(body); }

}  // namespace dougong::zk
