#include "zk/multi.h"

#include "zk/protocol.h"
#include "zk/record.h"

namespace dougong::zk {
namespace {

constexpr int32_t kOp(OpCode op) { return static_cast<int32_t>(op); }

// The header that ends both sequences.
const MultiHeader kDone{-1, true, -1};

// The op type(s) each request record may carry.
bool Fits(int32_t type, const MultiOpBody& body) {
  switch (body.index()) {
    case 0:  // CreateRequest
      return type == kOp(OpCode::kCreate) || type == kOp(OpCode::kCreate2) ||
             type == kOp(OpCode::kCreateContainer);
    case 1: return type == kOp(OpCode::kCreateTTL);
    case 2: return type == kOp(OpCode::kDelete);
    case 3: return type == kOp(OpCode::kSetData);
    case 4: return type == kOp(OpCode::kCheck);
    case 5: return type == kOp(OpCode::kGetChildren);
    case 6: return type == kOp(OpCode::kGetData);
  }
  return false;
}

int32_t ResultType(const MultiResultBody& body, int32_t type) {
  switch (body.index()) {
    case 0: return type;  // delete or check: the type says which
    case 1: return kOp(OpCode::kCreate);
    case 2: return kOp(OpCode::kCreate2);
    case 3: return kOp(OpCode::kSetData);
    case 4: return kOp(OpCode::kGetChildren);
    case 5: return kOp(OpCode::kGetData);
    case 6: return kOp(OpCode::kError);
  }
  return type;
}

bool IsReadOp(int32_t type) { return type == kOp(OpCode::kGetChildren) || type == kOp(OpCode::kGetData); }

Status OpError(size_t index, std::string what) {
  return InvalidArgument("multi op " + std::to_string(index) + ": " + std::move(what));
}

// Reads `Body` into the variant, naming the op on failure.
template <class Body, class Variant>
Status ReadBody(jute::Reader& r, size_t index, Variant* out) {
  Body body;
  if (Status s = jute::Decode(r, &body); !s.ok()) {
    return Status(s.code(), "multi op " + std::to_string(index) + ": " + s.message());
  }
  *out = std::move(body);
  return Status::Ok();
}

}  // namespace

Status EncodeMulti(const MultiRequest& multi, jute::Writer& w) {
  for (size_t i = 0; i < multi.ops.size(); ++i) {
    if (!Fits(multi.ops[i].type, multi.ops[i].body)) {
      return OpError(i, "type " + std::to_string(multi.ops[i].type) + " does not fit its record");
    }
  }
  for (const MultiOp& op : multi.ops) {
    jute::Encode(MultiHeader{op.type, false, -1}, w);
    std::visit([&](const auto& body) { jute::Encode(body, w); }, op.body);
  }
  jute::Encode(kDone, w);
  return Status::Ok();
}

Status EncodeMulti(const MultiResponse& multi, jute::Writer& w) {
  for (size_t i = 0; i < multi.results.size(); ++i) {
    const MultiResult& res = multi.results[i];
    bool fits = res.body.index() == 0
                    ? res.type == kOp(OpCode::kDelete) || res.type == kOp(OpCode::kCheck)
                    : res.type == ResultType(res.body, res.type);
    if (!fits) return OpError(i, "result type " + std::to_string(res.type) + " does not fit its record");
  }
  for (const MultiResult& res : multi.results) {
    // As Java writes it: err is the error's code for an error result, else 0.
    const auto* error = std::get_if<ErrorResponse>(&res.body);
    jute::Encode(MultiHeader{res.type, false, error ? error->err : 0}, w);
    std::visit(
        [&](const auto& body) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(body)>, std::monostate>) jute::Encode(body, w);
        },
        res.body);
  }
  jute::Encode(kDone, w);
  return Status::Ok();
}

// Every op needs at least a 9-byte header, so the loop is bounded by the
// input, however many ops a peer announces.
Status DecodeMulti(jute::Reader& r, MultiRequest* multi) {
  multi->ops.clear();
  bool has_read = false, has_write = false;
  for (size_t i = 0;; ++i) {
    MultiHeader h;
    if (Status s = jute::Decode(r, &h); !s.ok()) {
      return Status(s.code(), "multi op " + std::to_string(i) + ": " + s.message());
    }
    if (h.done) return Status::Ok();
    MultiOp op;
    op.type = h.type;
    Status s;
    switch (static_cast<OpCode>(h.type)) {
      case OpCode::kCreate:
      case OpCode::kCreate2:
      case OpCode::kCreateContainer:
        s = ReadBody<CreateRequest>(r, i, &op.body);
        if (s.ok() && !IsValidCreateMode(std::get<CreateRequest>(op.body).flags)) {
          return OpError(i, "invalid flag " + std::to_string(std::get<CreateRequest>(op.body).flags) +
                                " for create mode");
        }
        break;
      case OpCode::kCreateTTL: s = ReadBody<CreateTTLRequest>(r, i, &op.body); break;
      case OpCode::kDelete: s = ReadBody<DeleteRequest>(r, i, &op.body); break;
      case OpCode::kSetData: s = ReadBody<SetDataRequest>(r, i, &op.body); break;
      case OpCode::kCheck: s = ReadBody<CheckVersionRequest>(r, i, &op.body); break;
      case OpCode::kGetChildren: s = ReadBody<GetChildrenRequest>(r, i, &op.body); break;
      case OpCode::kGetData: s = ReadBody<GetDataRequest>(r, i, &op.body); break;
      default:
        return OpError(i, "invalid type of op " + std::to_string(h.type) + " (" +
                              std::string(OpCodeName(h.type)) + ")");
    }
    if (!s.ok()) return s;
    (IsReadOp(h.type) ? has_read : has_write) = true;
    if (has_read && has_write) return OpError(i, "mixing read and write ops");
    multi->ops.push_back(std::move(op));
  }
}

Status DecodeMulti(jute::Reader& r, MultiResponse* multi) {
  multi->results.clear();
  for (size_t i = 0;; ++i) {
    MultiHeader h;
    if (Status s = jute::Decode(r, &h); !s.ok()) {
      return Status(s.code(), "multi result " + std::to_string(i) + ": " + s.message());
    }
    if (h.done) return Status::Ok();
    MultiResult res;
    res.type = h.type;
    res.err = h.err;
    Status s;
    switch (static_cast<OpCode>(h.type)) {
      case OpCode::kCreate: s = ReadBody<CreateResponse>(r, i, &res.body); break;
      case OpCode::kCreate2: s = ReadBody<Create2Response>(r, i, &res.body); break;
      case OpCode::kDelete:
      case OpCode::kCheck: break;
      case OpCode::kSetData: s = ReadBody<SetDataResponse>(r, i, &res.body); break;
      case OpCode::kGetChildren: s = ReadBody<GetChildrenResponse>(r, i, &res.body); break;
      case OpCode::kGetData: s = ReadBody<GetDataResponse>(r, i, &res.body); break;
      case OpCode::kError: s = ReadBody<ErrorResponse>(r, i, &res.body); break;
      default:
        return InvalidArgument("multi result " + std::to_string(i) + ": invalid type " +
                               std::to_string(h.type));
    }
    if (!s.ok()) return s;
    multi->results.push_back(std::move(res));
  }
}

std::string ToString(const MultiRequest& multi) {
  std::string out = "MultiRequest[";
  for (size_t i = 0; i < multi.ops.size(); ++i) {
    if (i) out += ", ";
    out += std::string(OpCodeName(multi.ops[i].type)) + " ";
    std::visit([&](const auto& body) { out += jute::ToString(body); }, multi.ops[i].body);
  }
  return out + "]";
}

std::string ToString(const MultiResponse& multi) {
  std::string out = "MultiResponse[";
  for (size_t i = 0; i < multi.results.size(); ++i) {
    const MultiResult& res = multi.results[i];
    if (i) out += ", ";
    out += std::string(OpCodeName(res.type));
    if (res.err != 0) out += " " + std::string(ErrorCodeName(res.err));
    std::visit(
        [&](const auto& body) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(body)>, std::monostate>) {
            out += " " + jute::ToString(body);
          }
        },
        res.body);
  }
  return out + "]";
}

}  // namespace dougong::zk
