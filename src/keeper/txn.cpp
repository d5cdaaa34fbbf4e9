#include "keeper/txn.h"

#include "zk/jute.h"
#include "zk/protocol.h"
#include "zk/record.h"

namespace dougong::keeper {
namespace {
constexpr int32_t kTxnFormat = 1;
// The log refuses payloads above its own limit; this one only bounds what a
// damaged record can make the decoder allocate.
constexpr int32_t kMaxTxnField = 64 << 20;
}  // namespace

bool IsTxnOpcode(int32_t opcode) {
  switch (static_cast<zk::OpCode>(opcode)) {
    case zk::OpCode::kCreate:
    case zk::OpCode::kDelete:
    case zk::OpCode::kSetData:
    case zk::OpCode::kSetACL:
    case zk::OpCode::kCheck:
    case zk::OpCode::kMulti:
    case zk::OpCode::kCreate2:
    case zk::OpCode::kCreateContainer:
    case zk::OpCode::kCreateTTL:
    case zk::OpCode::kCloseSession:
      return true;
    default:
      return false;
  }
}

void EncodeTxn(const Txn& head, std::string_view body, std::string* out) {
  zk::jute::Writer w(out);
  w.WriteInt(kTxnFormat);
  w.WriteInt(head.opcode);
  w.WriteLong(head.session_id);
  w.WriteLong(head.time_ms);
  w.WriteInt(head.session_timeout_ms);
  w.WriteBytes(head.client_ip);
  w.WriteInt(static_cast<int32_t>(head.auth_ids.size()));
  for (const zk::Id& id : head.auth_ids) zk::jute::Encode(id, w);
  w.WriteBytes(body);
}

void EncodeTxn(const Txn& txn, std::string* out) { EncodeTxn(txn, txn.body, out); }

Result<Txn> DecodeTxn(std::string_view payload) {
  zk::jute::Reader r(payload, kMaxTxnField);
  Txn t;
  int32_t format = 0;
  bool is_null = false;
  int32_t count = 0;
  Status s = r.ReadInt(&format);
  if (s.ok() && format != kTxnFormat) {
    return Status(Code::kDataLoss, "txn: unknown format " + std::to_string(format));
  }
  if (s.ok()) s = r.ReadInt(&t.opcode);
  if (s.ok()) s = r.ReadLong(&t.session_id);
  if (s.ok()) s = r.ReadLong(&t.time_ms);
  if (s.ok()) s = r.ReadInt(&t.session_timeout_ms);
  if (s.ok()) s = r.ReadBytes(&t.client_ip, &is_null);
  if (s.ok()) s = r.ReadCount(&count, &is_null);
  for (int32_t i = 0; s.ok() && i < count; ++i) {
    zk::Id id;
    s = zk::jute::Decode(r, &id);
    t.auth_ids.push_back(std::move(id));
  }
  if (s.ok()) s = r.ReadBytes(&t.body, &is_null);
  if (s.ok() && !r.at_end()) s = Status(Code::kDataLoss, "trailing bytes");
  if (!s.ok()) return Status(Code::kDataLoss, "txn: " + s.message());
  return t;
}

}  // namespace dougong::keeper
