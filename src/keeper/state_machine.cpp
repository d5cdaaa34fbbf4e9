#include "keeper/state_machine.h"

#include <cstring>

#include "zk/jute.h"
#include "zk/record.h"

namespace dougong::keeper {

using zk::ErrorCode;
using zk::OpCode;

OpResult StateMachine::Apply(const Txn& txn, int64_t zxid, const zk::RequestBody* decoded) {
  last_zxid_ = std::max(last_zxid_, zxid);
  AuthContext auth;
  auth.ids = txn.auth_ids;
  auth.client_ip = txn.client_ip;
  TxnContext ctx{zxid, txn.time_ms, txn.session_id, &auth};
  OpResult r;
  switch (static_cast<OpCode>(txn.opcode)) {
    case OpCode::kCreateSession:
      sessions_[txn.session_id] = txn.session_timeout_ms;
      return r;
    case OpCode::kCloseSession:
      r = tree_->Apply(txn.opcode, std::monostate{}, ctx);
      sessions_.erase(txn.session_id);
      return r;
    case OpCode::kDeleteContainer: {
      zk::DeleteRequest del;
      zk::jute::Reader reader(txn.body);
      if (!zk::jute::Decode(reader, &del).ok()) break;
      return tree_->Apply(txn.opcode, del, ctx);
    }
    default: {
      if (decoded != nullptr) return tree_->Apply(txn.opcode, *decoded, ctx);
      Result<zk::RequestBody> body = zk::DecodeRequestBody(txn.opcode, txn.body, 64 << 20);
      if (!body.ok()) break;
      return tree_->Apply(txn.opcode, *body, ctx);
    }
  }
  r.err = ErrorCode::kMarshallingError;
  return r;
}

Status StateMachine::Save(const std::function<Status(std::string_view chunk)>& sink) const {
  std::string head(8, '\0');
  zk::jute::Writer w(&head);
  w.WriteInt(static_cast<int32_t>(sessions_.size()));
  for (const auto& [id, timeout] : sessions_) {
    w.WriteLong(id);
    w.WriteInt(timeout);
  }
  uint64_t len = head.size() - 8;
  for (int i = 0; i < 8; ++i) head[i] = static_cast<char>(len >> (8 * i));
  if (Status s = sink(head); !s.ok()) return s;
  return tree_->Save(sink);
}

Status StateMachine::Loader::Feed(std::string_view bytes) {
  if (!head_done_) {
    size_t want = (head_.size() < 8 ? 8 : 8 + head_len_) - head_.size();
    size_t take = std::min(want, bytes.size());
    head_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (head_.size() == 8 && head_len_ == 0) {
      for (int i = 0; i < 8; ++i) head_len_ |= uint64_t(uint8_t(head_[i])) << (8 * i);
      if (head_len_ < 4 || head_len_ > (1ull << 31)) {
        return Status(Code::kDataLoss, "snapshot: bad sessions section length");
      }
      return Feed(bytes);
    }
    if (head_.size() < 8 + head_len_) return Status::Ok();
    zk::jute::Reader r(std::string_view(head_).substr(8), INT32_MAX);
    int32_t count = 0;
    Status s = r.ReadInt(&count);
    for (int32_t i = 0; s.ok() && i < count; ++i) {
      int64_t id = 0;
      int32_t timeout = 0;
      s = r.ReadLong(&id);
      if (s.ok()) s = r.ReadInt(&timeout);
      sessions_[id] = timeout;
    }
    if (s.ok() && (count < 0 || !r.at_end())) s = Status(Code::kDataLoss, "bad count");
    if (!s.ok()) return Status(Code::kDataLoss, "snapshot sessions section: " + s.message());
    head_done_ = true;
    head_.clear();
  }
  if (bytes.empty()) return Status::Ok();
  return tree_loader_.Feed(bytes);
}

Result<std::unique_ptr<StateMachine>> StateMachine::Loader::Finish(int64_t zxid) {
  if (!head_done_) return Status(Code::kDataLoss, "snapshot: sessions section incomplete");
  Result<std::unique_ptr<DataTree>> tree = tree_loader_.Finish();
  if (!tree.ok()) return tree.status();
  auto sm = std::make_unique<StateMachine>(options_);
  sm->tree_ = std::move(*tree);
  sm->sessions_ = std::move(sessions_);
  sm->last_zxid_ = zxid;
  return sm;
}

}  // namespace dougong::keeper
