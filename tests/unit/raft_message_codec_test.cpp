// The peer transport's message encoding: round trip of every field, and
// strict refusal of truncated or trailing bytes and unknown values.
#include <gtest/gtest.h>

#include "raft/node/message_codec.h"

namespace dougong::raft::node {
namespace {

Message Sample() {
  Message m;
  m.type = MessageType::kAppendResp;
  m.from = 3;
  m.to = 0x0102030405060708ULL;
  m.term = 7;
  m.log_term = 6;
  m.index = 1ULL << 40;
  m.commit = 99;
  m.reject = true;
  m.reject_hint = 12;
  m.transfer = true;
  m.context = std::string("ctx\0bin", 7);
  m.entries = {Entry{100, 7, EntryType::kNormal, "payload"}, Entry{101, 7, EntryType::kNoOp, ""},
               Entry{102, 7, EntryType::kConfChange, std::string(3000, 'x')}};
  m.snapshot.meta = SnapshotMeta{50, 5, ConfState{{1, 2, 3}, {9}}};
  return m;
}

void ExpectSame(const Message& a, const Message& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.term, b.term);
  EXPECT_EQ(a.log_term, b.log_term);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.commit, b.commit);
  EXPECT_EQ(a.reject, b.reject);
  EXPECT_EQ(a.reject_hint, b.reject_hint);
  EXPECT_EQ(a.transfer, b.transfer);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.snapshot.meta, b.snapshot.meta);
}

TEST(RaftMessageCodec, BatchRoundTrip) {
  Message a = Sample();
  Message b;
  b.type = MessageType::kHeartbeat;
  b.from = 1;
  b.to = 2;
  std::string wire = EncodeBatch({&a, &b});
  auto back = DecodeBatch(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  ExpectSame((*back)[0], a);
  ExpectSame((*back)[1], b);
}

TEST(RaftMessageCodec, SnapshotDataIsNotEncoded) {
  Message m = Sample();
  m.type = MessageType::kSnapshot;
  m.snapshot.data = "the stream carries this";
  std::string wire;
  EncodeMessage(m, &wire);
  auto back = DecodeMessage(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->snapshot.data.empty());
  EXPECT_EQ(back->snapshot.meta, m.snapshot.meta);
}

TEST(RaftMessageCodec, RefusesEveryTruncationAndTrailingBytes) {
  Message a = Sample();
  std::string wire = EncodeBatch({&a});
  for (size_t cut = 0; cut < wire.size(); ++cut)
    EXPECT_FALSE(DecodeBatch(std::string_view(wire).substr(0, cut)).ok()) << "cut at " << cut;
  EXPECT_FALSE(DecodeBatch(wire + "x").ok());
}

TEST(RaftMessageCodec, RefusesUnknownValues) {
  Message a = Sample();
  std::string wire = EncodeBatch({&a});
  std::string bad_version = wire;
  bad_version[0] = 2;
  EXPECT_FALSE(DecodeBatch(bad_version).ok());
  std::string bad_type = wire;
  bad_type[5] = 100;  // the first message's type
  EXPECT_FALSE(DecodeBatch(bad_type).ok());
  // A huge voter count must not make the decoder loop or allocate.
  std::string single;
  Message empty;
  EncodeMessage(empty, &single);
  single.replace(single.size() - 8, 4, "\xff\xff\xff\xff");
  EXPECT_FALSE(DecodeMessage(single).ok());
}

}  // namespace
}  // namespace dougong::raft::node
