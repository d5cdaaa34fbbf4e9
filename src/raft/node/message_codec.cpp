#include "raft/node/message_codec.h"

#include "base/file_util.h"

namespace dougong::raft::node {
namespace {

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagTransfer = 2;
constexpr uint8_t kMaxMessageType = static_cast<uint8_t>(MessageType::kReadIndexResp);
constexpr uint8_t kMaxEntryType = static_cast<uint8_t>(EntryType::kNoOp);

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void Put32(std::string* out, uint32_t v) {
  char b[4];
  PutU32(b, v);
  out->append(b, 4);
}
void Put64(std::string* out, uint64_t v) {
  char b[8];
  PutU64(b, v);
  out->append(b, 8);
}
void PutBytes(std::string* out, std::string_view s) {
  Put32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
void PutIds(std::string* out, const std::set<NodeId>& ids) {
  Put32(out, static_cast<uint32_t>(ids.size()));
  for (NodeId id : ids) Put64(out, id);
}

// Reads fields off the front of a buffer; the first short read sticks.
class Reader {
 public:
  explicit Reader(std::string_view data) : rest_(data) {}
  bool ok() const { return ok_; }
  bool empty() const { return rest_.empty(); }
  uint8_t U8() { return Take(1) ? static_cast<uint8_t>(last_[0]) : 0; }
  uint32_t U32() { return Take(4) ? GetU32(last_.data()) : 0; }
  uint64_t U64() { return Take(8) ? GetU64(last_.data()) : 0; }
  std::string_view Bytes() {
    uint32_t n = U32();
    return Take(n) ? last_ : std::string_view();
  }
  void Ids(std::set<NodeId>* ids) {
    uint32_t n = U32();
    if (n > rest_.size() / 8) ok_ = false;  // cheap guard before looping
    for (uint32_t i = 0; ok_ && i < n; ++i) ids->insert(U64());
  }
  void Fail() { ok_ = false; }

 private:
  bool Take(size_t n) {
    if (!ok_ || rest_.size() < n) {
      ok_ = false;
      return false;
    }
    last_ = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  std::string_view rest_;
  std::string_view last_;
  bool ok_ = true;
};

void ReadMessage(Reader& r, Message* m) {
  uint8_t type = r.U8();
  if (type > kMaxMessageType) r.Fail();
  m->type = static_cast<MessageType>(type);
  m->from = r.U64();
  m->to = r.U64();
  m->term = r.U64();
  m->log_term = r.U64();
  m->index = r.U64();
  m->commit = r.U64();
  m->reject_hint = r.U64();
  uint8_t flags = r.U8();
  if ((flags & ~(kFlagReject | kFlagTransfer)) != 0) r.Fail();
  m->reject = (flags & kFlagReject) != 0;
  m->transfer = (flags & kFlagTransfer) != 0;
  m->context = std::string(r.Bytes());
  uint32_t n = r.U32();
  for (uint32_t i = 0; r.ok() && i < n; ++i) {
    Entry e;
    e.index = r.U64();
    e.term = r.U64();
    uint8_t et = r.U8();
    if (et > kMaxEntryType) r.Fail();
    e.type = static_cast<EntryType>(et);
    e.data = std::string(r.Bytes());
    m->entries.push_back(std::move(e));
  }
  m->snapshot.meta.index = r.U64();
  m->snapshot.meta.term = r.U64();
  r.Ids(&m->snapshot.meta.conf.voters);
  r.Ids(&m->snapshot.meta.conf.learners);
}

}  // namespace

void EncodeMessage(const Message& m, std::string* out) {
  PutU8(out, static_cast<uint8_t>(m.type));
  Put64(out, m.from);
  Put64(out, m.to);
  Put64(out, m.term);
  Put64(out, m.log_term);
  Put64(out, m.index);
  Put64(out, m.commit);
  Put64(out, m.reject_hint);
  PutU8(out, static_cast<uint8_t>((m.reject ? kFlagReject : 0) | (m.transfer ? kFlagTransfer : 0)));
  PutBytes(out, m.context);
  Put32(out, static_cast<uint32_t>(m.entries.size()));
  for (const Entry& e : m.entries) {
    Put64(out, e.index);
    Put64(out, e.term);
    PutU8(out, static_cast<uint8_t>(e.type));
    PutBytes(out, e.data);
  }
  Put64(out, m.snapshot.meta.index);
  Put64(out, m.snapshot.meta.term);
  PutIds(out, m.snapshot.meta.conf.voters);
  PutIds(out, m.snapshot.meta.conf.learners);
}

std::string EncodeBatch(const std::vector<const Message*>& batch) {
  std::string out;
  PutU8(&out, kCodecVersion);
  Put32(&out, static_cast<uint32_t>(batch.size()));
  for (const Message* m : batch) EncodeMessage(*m, &out);
  return out;
}

Result<Message> DecodeMessage(std::string_view data) {
  Reader r(data);
  Message m;
  ReadMessage(r, &m);
  if (!r.ok() || !r.empty()) return InvalidArgument("raft transport: malformed message");
  return m;
}

Result<std::vector<Message>> DecodeBatch(std::string_view data) {
  Reader r(data);
  if (r.U8() != kCodecVersion) return InvalidArgument("raft transport: unknown batch version");
  uint32_t n = r.U32();
  std::vector<Message> batch;
  for (uint32_t i = 0; r.ok() && i < n; ++i) {
    batch.emplace_back();
    ReadMessage(r, &batch.back());
  }
  if (!r.ok() || !r.empty()) return InvalidArgument("raft transport: malformed message batch");
  return batch;
}

}  // namespace dougong::raft::node
