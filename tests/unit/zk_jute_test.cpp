// The jute codec of ZooKeeper 3.8 (src/zk): primitives, every record, exact
// bytes written by hand from the jute spec, truncation at every byte,
// hostile lengths, opcode dispatch, multi and packet framing.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <tuple>

#include "zk/jute.h"
#include "zk/multi.h"
#include "zk/packet.h"
#include "zk/protocol.h"
#include "zk/record.h"
#include "zk/records.h"
#include "zk/requests.h"

// The largest single allocation made while g_track_allocations is set, so a
// test can show that a hostile length never turns into a big allocation.
// Replacing new/delete with malloc/free is what the standard allows; g++
// warns about the pairing it sees after inlining.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    size_t prev = g_largest_allocation.load();
    while (n > prev && !g_largest_allocation.compare_exchange_weak(prev, n)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace dougong::zk {
namespace {

using jute::Buffer;
using jute::Reader;
using jute::Writer;

// "00 00 00 02" -> bytes. Text parts are appended with +.
std::string Hex(std::string_view hex) {
  std::string out;
  int nibbles = 0, v = 0;
  for (char c : hex) {
    if (c == ' ') continue;
    v = v * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    if (++nibbles == 2) {
      out.push_back(static_cast<char>(v));
      nibbles = v = 0;
    }
  }
  return out;
}

class AllocationTracker {
 public:
  AllocationTracker() {
    g_largest_allocation = 0;
    g_track_allocations = true;
  }
  ~AllocationTracker() { g_track_allocations = false; }
  size_t largest() const { return g_largest_allocation.load(); }
};

// ---- primitives ----

TEST(JutePrimitives, BigEndianAndBool) {
  std::string out;
  Writer w(&out);
  w.WriteInt(0x01020304);
  w.WriteInt(-2);
  w.WriteLong(0x0102030405060708);
  w.WriteLong(-1);
  w.WriteBool(true);
  w.WriteBool(false);
  w.WriteBytes("ab");
  w.WriteNull();
  EXPECT_EQ(out, Hex("01020304 fffffffe 0102030405060708 ffffffffffffffff 01 00 00000002") + "ab" +
                     Hex("ffffffff"));

  Reader r(out);
  int32_t i = 0;
  int64_t l = 0;
  bool b = false;
  std::string s;
  bool is_null = false;
  ASSERT_TRUE(r.ReadInt(&i).ok());
  EXPECT_EQ(i, 0x01020304);
  ASSERT_TRUE(r.ReadInt(&i).ok());
  EXPECT_EQ(i, -2);
  ASSERT_TRUE(r.ReadLong(&l).ok());
  EXPECT_EQ(l, 0x0102030405060708);
  ASSERT_TRUE(r.ReadLong(&l).ok());
  EXPECT_EQ(l, -1);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_TRUE(b);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_FALSE(b);
  ASSERT_TRUE(r.ReadBytes(&s, &is_null).ok());
  EXPECT_EQ(s, "ab");
  EXPECT_FALSE(is_null);
  ASSERT_TRUE(r.ReadBytes(&s, &is_null).ok());
  EXPECT_TRUE(is_null);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(r.at_end());
  Status st = r.ReadInt(&i);
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_EQ(st.message(), "truncated record at offset 36: need 4 bytes, 0 left");
}

TEST(JutePrimitives, AnyNonZeroByteIsTrue) {  // as Java's readBoolean
  std::string in = Hex("02");
  Reader r(in);
  bool b = false;
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_TRUE(b);
}

// ---- hostile lengths ----

TEST(JuteLimits, HugeStringLengthRefusedWithoutAllocating) {
  std::string in = Hex("7fffffff") + "abc";
  AllocationTracker tracker;
  SyncRequest req;
  Status st = jute::DecodeAll(in, &req);
  EXPECT_LT(tracker.largest(), 4096u);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "SyncRequest.path: length 2147483647 at offset 0 exceeds limit 1048575");
}

TEST(JuteLimits, LengthWithinLimitButBeyondInputIsTruncated) {
  std::string in = Hex("00001000") + "abc";
  AllocationTracker tracker;
  SyncRequest req;
  Status st = jute::DecodeAll(in, &req);
  EXPECT_LT(tracker.largest(), 1024u);
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_EQ(st.message(), "SyncRequest.path: truncated record at offset 4: need 4096 bytes, 3 left");
}

TEST(JuteLimits, NegativeLengthRefused) {
  std::string in = Hex("fffffffb");
  SyncRequest req;
  Status st = jute::DecodeAll(in, &req);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "SyncRequest.path: negative length -5 at offset 0");
  GetChildrenResponse resp;
  st = jute::DecodeAll(in, &resp);
  EXPECT_EQ(st.message(), "GetChildrenResponse.children: negative vector count -5 at offset 0");
}

TEST(JuteLimits, HugeVectorCountRefusedWithoutAllocating) {
  AllocationTracker tracker;
  GetChildrenResponse resp;
  Status st = jute::DecodeAll(Hex("7fffffff 00000000"), &resp);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "GetChildrenResponse.children: vector count 2147483647 at offset 0 exceeds limit 1048575");
  // Under the limit but more elements than bytes: refused before the loop.
  st = jute::DecodeAll(Hex("000fffff 00000000"), &resp);
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_EQ(st.message(),
            "GetChildrenResponse.children: truncated record at offset 4: vector of 1048575 elements, 4 bytes left");
  EXPECT_LT(tracker.largest(), 4096u);
}

TEST(JuteLimits, ConfigurableLimit) {
  SyncRequest req{std::string(100, 'p')};
  std::string bytes = jute::Encode(req);
  SyncRequest back;
  EXPECT_EQ(jute::DecodeAll(bytes, &back, 99).code(), Code::kInvalidArgument);
  ASSERT_TRUE(jute::DecodeAll(bytes, &back, 100).ok());
  EXPECT_EQ(back, req);
}

TEST(JuteLimits, TrailingBytesRefused) {
  SyncRequest back;
  Status st = jute::DecodeAll(Hex("00000001") + "/" + "x", &back);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "SyncRequest: 1 unexpected bytes after the record at offset 5");
}

// ---- exact bytes, written by hand from zookeeper.jute ----

template <class T>
void ExpectTruncationFails(const std::string& bytes, size_t optional_tail = 0) {
  for (size_t n = 0; n + optional_tail < bytes.size(); ++n) {
    T back;
    Status st = jute::DecodeAll(std::string_view(bytes).substr(0, n), &back);
    EXPECT_FALSE(st.ok()) << T::kName << " truncated to " << n << " bytes decoded";
    EXPECT_EQ(st.code(), Code::kDataLoss) << st.ToString();
  }
}

TEST(JuteBytes, ConnectRequest) {
  ConnectRequest req;
  req.protocol_version = 0;
  req.last_zxid_seen = 0;
  req.time_out = 30000;
  req.session_id = 0;
  req.passwd = std::string(16, '\0');
  req.read_only = false;
  const std::string expected = Hex(
      "00000000"                           // protocolVersion
      "0000000000000000"                   // lastZxidSeen
      "00007530"                           // timeOut 30000
      "0000000000000000"                   // sessionId
      "00000010"                           // passwd length 16
      "00000000000000000000000000000000"   // passwd
      "00");                               // readOnly (appended by 3.4+ clients)
  ASSERT_EQ(expected.size(), 45u);
  EXPECT_EQ(jute::Encode(req), expected);

  ConnectRequest back;
  ASSERT_TRUE(jute::DecodeAll(expected, &back).ok());
  EXPECT_EQ(back, req);

  // A client older than 3.4 sends no readOnly byte: still fine.
  back.read_only = true;
  ASSERT_TRUE(jute::DecodeAll(std::string_view(expected).substr(0, 44), &back).ok());
  EXPECT_FALSE(back.read_only);
  ExpectTruncationFails<ConnectRequest>(expected, /*optional_tail=*/1);

  // Framed, as it goes on the socket: 4-byte length 45 first.
  std::string packet;
  AppendPacket(expected, &packet);
  EXPECT_EQ(packet, Hex("0000002d") + expected);
}

const std::string kCreateBody = Hex("00000002") + "/a" +  // path
                                Hex("00000001") + "x" +   // data
                                Hex("00000001") +         // acl: 1 entry
                                Hex("0000001f") +         // perms ALL
                                Hex("00000005") + "world" + Hex("00000006") + "anyone" +
                                Hex("00000000");  // flags: persistent

CreateRequest CreateA() {
  CreateRequest req;
  req.path = "/a";
  req.data = "x";
  req.acl = ids::OpenAclUnsafe();
  req.flags = static_cast<int32_t>(CreateMode::kPersistent);
  return req;
}

TEST(JuteBytes, CreateRequest) {
  CreateRequest req = CreateA();
  ASSERT_EQ(kCreateBody.size(), 42u);
  EXPECT_EQ(jute::Encode(req), kCreateBody);
  CreateRequest back;
  ASSERT_TRUE(jute::DecodeAll(kCreateBody, &back).ok());
  EXPECT_EQ(back, req);
  ExpectTruncationFails<CreateRequest>(kCreateBody);
  EXPECT_EQ(jute::ToString(req),
            "CreateRequest{path: \"/a\", data: \"x\", acl: [ACL{perms: 31, id: Id{scheme: \"world\", id: "
            "\"anyone\"}}], flags: 0}");

  // The whole request packet: length, RequestHeader{xid 1, create}, body.
  std::string packet;
  size_t begin = BeginPacket(&packet);
  ASSERT_TRUE(EncodeRequest(RequestHeader{1, static_cast<int32_t>(OpCode::kCreate)}, req, &packet).ok());
  EndPacket(&packet, begin);
  EXPECT_EQ(packet, Hex("00000032 00000001 00000001") + kCreateBody);

  Result<Request> decoded = DecodeRequest(std::string_view(packet).substr(4));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.xid, 1);
  EXPECT_EQ(decoded->header.type, 1);
  EXPECT_EQ(std::get<CreateRequest>(decoded->body), req);
  for (size_t n = 4; n < packet.size(); ++n) {
    EXPECT_FALSE(DecodeRequest(std::string_view(packet).substr(4, n - 4)).ok()) << n;
  }
}

TEST(JuteBytes, ReplyHeader) {
  ReplyHeader h{7, 0x0000000100000002, static_cast<int32_t>(ErrorCode::kNoNode)};
  const std::string expected = Hex("00000007 0000000100000002 ffffff9b");
  EXPECT_EQ(jute::Encode(h), expected);
  ReplyHeader back;
  ASSERT_TRUE(jute::DecodeAll(expected, &back).ok());
  EXPECT_EQ(back, h);
  ExpectTruncationFails<ReplyHeader>(expected);
  EXPECT_EQ(ErrorCodeName(back.err), "NONODE");
}

MultiRequest TwoOps() {
  MultiRequest multi;
  multi.ops.push_back(MultiOp{static_cast<int32_t>(OpCode::kCreate), CreateA()});
  multi.ops.push_back(MultiOp{static_cast<int32_t>(OpCode::kDelete), DeleteRequest{"/b", -1}});
  return multi;
}

TEST(JuteBytes, MultiWithTwoOps) {
  const std::string expected = Hex("00000001 00 ffffffff") + kCreateBody +         // create op
                               Hex("00000002 00 ffffffff") +                       // delete op
                               Hex("00000002") + "/b" + Hex("ffffffff") +          // DeleteRequest
                               Hex("ffffffff 01 ffffffff");                        // end
  ASSERT_EQ(expected.size(), 79u);
  std::string out;
  Writer w(&out);
  ASSERT_TRUE(EncodeMulti(TwoOps(), w).ok());
  EXPECT_EQ(out, expected);

  Result<RequestBody> body = DecodeRequestBody(static_cast<int32_t>(OpCode::kMulti), expected);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(std::get<MultiRequest>(*body), TwoOps());
  for (size_t n = 0; n < expected.size(); ++n) {
    Result<RequestBody> cut = DecodeRequestBody(static_cast<int32_t>(OpCode::kMulti), expected.substr(0, n));
    ASSERT_FALSE(cut.ok()) << n;
    EXPECT_EQ(cut.status().code(), Code::kDataLoss) << cut.status().ToString();
  }
  EXPECT_EQ(ToString(TwoOps()),
            "MultiRequest[create CreateRequest{path: \"/a\", data: \"x\", acl: [ACL{perms: 31, id: Id{scheme: "
            "\"world\", id: \"anyone\"}}], flags: 0}, delete DeleteRequest{path: \"/b\", version: -1}]");
}

// ---- every record round-trips ----

// Fills every field with a value that differs from the default and between
// fields, recursing into nested records and vectors.
template <class T>
struct Filler;
template <>
struct Filler<int32_t> {
  static void Fill(int32_t* v, int& seed) { *v = -1000 * seed++ - 7; }
};
template <>
struct Filler<int64_t> {
  static void Fill(int64_t* v, int& seed) { *v = int64_t{0x123456789} * seed++; }
};
template <>
struct Filler<bool> {
  static void Fill(bool* v, int& seed) {
    *v = true;
    ++seed;
  }
};
template <>
struct Filler<std::string> {
  static void Fill(std::string* v, int& seed) { *v = "/s" + std::to_string(seed++); }
};
template <>
struct Filler<std::optional<std::string>> {
  static void Fill(std::optional<std::string>* v, int& seed) { *v = "opt" + std::to_string(seed++); }
};
template <>
struct Filler<Buffer> {
  static void Fill(Buffer* v, int& seed) { *v = std::string("\0\1b", 3) + std::to_string(seed++); }
};
template <class E>
struct Filler<std::vector<E>> {
  static void Fill(std::vector<E>* v, int& seed) {
    v->resize(2);
    for (E& e : *v) Filler<E>::Fill(&e, seed);
  }
};
template <jute::Record T>
struct Filler<T> {
  static void Fill(T* v, int& seed) {
    std::apply([&](const auto&... f) { (Filler<typename std::remove_cvref_t<decltype(f)>::type>::Fill(&(v->*(f.member)), seed), ...); },
               T::kFields);
  }
};

template <class T>
void RoundTrip() {
  SCOPED_TRACE(std::string(T::kName));
  for (bool filled : {false, true}) {
    T rec{};
    int seed = 1;
    if (filled) Filler<T>::Fill(&rec, seed);
    std::string bytes = jute::Encode(rec);
    T back{};
    Status st = jute::DecodeAll(bytes, &back);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(back == rec) << jute::ToString(rec) << " vs " << jute::ToString(back);
    EXPECT_EQ(jute::Encode(back), bytes);
    EXPECT_FALSE(jute::ToString(back).empty());
    // Every shorter prefix fails (but the connect handshake's optional tail).
    bool trailing = std::is_same_v<T, ConnectRequest> || std::is_same_v<T, ConnectResponse>;
    ExpectTruncationFails<T>(bytes, trailing ? 1 : 0);
  }
}

template <class... T>
void RoundTripAll() {
  (RoundTrip<T>(), ...);
}

TEST(JuteRecords, EveryRecordRoundTrips) {
  RoundTripAll<Id, ACL, Stat, StatPersisted, ClientInfo, ConnectRequest, ConnectResponse, SetWatches, SetWatches2,
               RequestHeader, MultiHeader, AuthPacket, ReplyHeader, GetDataRequest, SetDataRequest, ReconfigRequest,
               SetDataResponse, GetSASLRequest, SetSASLRequest, SetSASLResponse, CreateRequest, CreateTTLRequest,
               DeleteRequest, GetChildrenRequest, GetAllChildrenNumberRequest, GetChildren2Request,
               CheckVersionRequest, GetMaxChildrenRequest, GetMaxChildrenResponse, SetMaxChildrenRequest,
               SyncRequest, SyncResponse, GetACLRequest, SetACLRequest, SetACLResponse, AddWatchRequest,
               WatcherEvent, ErrorResponse, CreateResponse, Create2Response, ExistsRequest, ExistsResponse,
               GetDataResponse, GetChildrenResponse, GetAllChildrenNumberResponse, GetChildren2Response,
               GetACLResponse, CheckWatchesRequest, RemoveWatchesRequest, GetEphemeralsRequest,
               GetEphemeralsResponse, WhoAmIResponse, TxnDigest, TxnHeader, CreateTxnV0, CreateTxn, CreateTTLTxn,
               CreateContainerTxn, DeleteTxn, SetDataTxn, CheckVersionTxn, SetACLTxn, SetMaxChildrenTxn,
               CreateSessionTxn, CloseSessionTxn, ErrorTxn, Txn, MultiTxn>();
}

TEST(JuteRecords, NullsKeptWhereZooKeeperGivesThemMeaning) {
  GetDataResponse resp;
  resp.data = Buffer::Null();
  std::string bytes = jute::Encode(resp);
  EXPECT_EQ(bytes.substr(0, 4), Hex("ffffffff"));
  GetDataResponse back;
  ASSERT_TRUE(jute::DecodeAll(bytes, &back).ok());
  EXPECT_TRUE(back.data.is_null);
  EXPECT_EQ(jute::ToString(back).substr(0, 28), "GetDataResponse{data: null, ");

  ReconfigRequest reconfig;
  reconfig.joining_servers = "server.4=h:2888:3888";
  reconfig.new_members = std::nullopt;
  reconfig.leaving_servers = "";
  reconfig.cur_config_id = -1;
  ReconfigRequest rback;
  ASSERT_TRUE(jute::DecodeAll(jute::Encode(reconfig), &rback).ok());
  EXPECT_EQ(rback, reconfig);
  EXPECT_FALSE(rback.new_members.has_value());
  EXPECT_EQ(rback.leaving_servers, std::optional<std::string>(""));

  // A null ustring where ZooKeeper does not care reads as "" (kazoo sends
  // Id("auth", None) in ACLs).
  SyncRequest sync{"x"};
  ASSERT_TRUE(jute::DecodeAll(Hex("ffffffff"), &sync).ok());
  EXPECT_EQ(sync.path, "");
}

// A record with a nullable vector (no 3.8 record needs one, the codec can).
struct NullableList {
  std::optional<std::vector<Id>> ids;
  static constexpr std::string_view kName = "NullableList";
  static constexpr auto kFields = std::make_tuple(jute::F("ids", &NullableList::ids));
  bool operator==(const NullableList&) const = default;
};

TEST(JuteRecords, NullableVector) {
  NullableList none;
  EXPECT_EQ(jute::Encode(none), Hex("ffffffff"));
  NullableList back{std::vector<Id>{}};
  ASSERT_TRUE(jute::DecodeAll(Hex("ffffffff"), &back).ok());
  EXPECT_FALSE(back.ids.has_value());
  NullableList some{std::vector<Id>{Id{"ip", "10.0.0.1"}}};
  ASSERT_TRUE(jute::DecodeAll(jute::Encode(some), &back).ok());
  EXPECT_EQ(back, some);
  EXPECT_EQ(jute::ToString(back), "NullableList{ids: [Id{scheme: \"ip\", id: \"10.0.0.1\"}]}");
}

// ---- opcode dispatch ----

TEST(JuteRequests, DispatchByOpcode) {
  auto decode = [](OpCode op, std::string_view body) { return DecodeRequestBody(static_cast<int32_t>(op), body); };
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*decode(OpCode::kPing, "")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*decode(OpCode::kWhoAmI, "")));
  EXPECT_TRUE(std::holds_alternative<CreateRequest>(*decode(OpCode::kCreateContainer, kCreateBody)));
  EXPECT_TRUE(std::holds_alternative<CreateRequest>(*decode(OpCode::kCreate2, kCreateBody)));
  GetDataRequest get{"/a", true};
  auto r = decode(OpCode::kGetData, jute::Encode(get));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<GetDataRequest>(*r), get);
  EXPECT_EQ(ToString(*r), "GetDataRequest{path: \"/a\", watch: true}");
  AddWatchRequest add{"/w", static_cast<int32_t>(AddWatchMode::kPersistentRecursive)};
  EXPECT_EQ(std::get<AddWatchRequest>(*decode(OpCode::kAddWatch, jute::Encode(add))), add);

  auto unknown = DecodeRequestBody(55, "");
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(), "unknown request opcode 55");
  EXPECT_EQ(decode(OpCode::kDeleteContainer, "/a").status().message(),
            "opcode 20 (deleteContainer) is not a client request");
  EXPECT_EQ(decode(OpCode::kPing, "x").status().message(), "body: 1 unexpected bytes after the body at offset 0");

  // Errors name the op and the xid.
  std::string packet = jute::Encode(RequestHeader{9, static_cast<int32_t>(OpCode::kSync)}) + Hex("00000005") + "/a";
  auto bad = DecodeRequest(packet);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "sync request (xid 9): SyncRequest.path: truncated record at offset 4: need 5 bytes, 2 left");
}

TEST(JuteRequests, RequestsRoundTripThroughTheVariant) {
  std::vector<std::pair<OpCode, RequestBody>> cases = {
      {OpCode::kSetWatches2, SetWatches2{5, {"/d"}, {"/e"}, {"/c"}, {"/p"}, {"/r"}}},
      {OpCode::kAuth, AuthPacket{0, "digest", "u:p"}},
      {OpCode::kMultiRead, MultiRequest{{MultiOp{static_cast<int32_t>(OpCode::kGetData), GetDataRequest{"/x", false}},
                                         MultiOp{static_cast<int32_t>(OpCode::kGetChildren), GetChildrenRequest{"/", false}}}}},
      {OpCode::kCloseSession, std::monostate{}},
  };
  for (const auto& [op, body] : cases) {
    std::string bytes;
    ASSERT_TRUE(EncodeRequest(RequestHeader{3, static_cast<int32_t>(op)}, body, &bytes).ok());
    auto back = DecodeRequest(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->body, body) << OpCodeName(static_cast<int32_t>(op));
  }
}

TEST(JuteMulti, RefusesWhatJavaRefuses) {
  auto multi = [](const std::vector<MultiOp>& ops) {
    std::string out;
    Writer w(&out);
    EXPECT_TRUE(EncodeMulti(MultiRequest{ops}, w).ok());
    return DecodeRequestBody(static_cast<int32_t>(OpCode::kMulti), out);
  };
  auto mixed = multi({MultiOp{static_cast<int32_t>(OpCode::kDelete), DeleteRequest{"/a", 0}},
                      MultiOp{static_cast<int32_t>(OpCode::kGetData), GetDataRequest{"/a", false}}});
  EXPECT_EQ(mixed.status().message(), "multi op 1: mixing read and write ops");

  CreateRequest bad_mode = CreateA();
  bad_mode.flags = 7;
  auto flags = multi({MultiOp{static_cast<int32_t>(OpCode::kCreate), bad_mode}});
  EXPECT_EQ(flags.status().message(), "multi op 0: invalid flag 7 for create mode");

  std::string unknown_op = jute::Encode(MultiHeader{static_cast<int32_t>(OpCode::kSync), false, -1}) + Hex("00000000");
  auto op = DecodeRequestBody(static_cast<int32_t>(OpCode::kMulti), unknown_op);
  EXPECT_EQ(op.status().message(), "multi op 0: invalid type of op 9 (sync)");

  // Encoding a type that does not fit the record is refused.
  std::string out;
  Writer w(&out);
  Status st = EncodeMulti(MultiRequest{{MultiOp{static_cast<int32_t>(OpCode::kSetData), DeleteRequest{"/a", 0}}}}, w);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

TEST(JuteMulti, ResponseRoundTrip) {
  Stat stat;
  stat.version = 3;
  MultiResponse resp;
  resp.results.push_back(MultiResult{static_cast<int32_t>(OpCode::kCreate2), 0, Create2Response{"/a0000000001", stat}});
  resp.results.push_back(MultiResult{static_cast<int32_t>(OpCode::kCheck), 0, std::monostate{}});
  resp.results.push_back(MultiResult{static_cast<int32_t>(OpCode::kError), -103, ErrorResponse{-103}});
  std::string bytes;
  ASSERT_TRUE(EncodeResponseBody(resp, &bytes).ok());
  auto back = DecodeResponseBody(static_cast<int32_t>(OpCode::kMulti), bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(std::get<MultiResponse>(*back), resp);
  EXPECT_EQ(ToString(*back).substr(0, 30), "MultiResponse[create2 Create2R");
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeResponseBody(static_cast<int32_t>(OpCode::kMulti), bytes.substr(0, n)).ok()) << n;
  }
}

TEST(JuteResponses, DispatchByOpcode) {
  auto check = DecodeResponseBody(static_cast<int32_t>(OpCode::kCheck), jute::Encode(SetDataResponse{}));
  EXPECT_TRUE(std::holds_alternative<SetDataResponse>(*check));
  auto watch = DecodeResponseBody(static_cast<int32_t>(OpCode::kAddWatch), Hex("00000000"));
  EXPECT_TRUE(std::holds_alternative<ErrorResponse>(*watch));
  WhoAmIResponse who{{ClientInfo{"ip", "127.0.0.1"}}};
  auto w = DecodeResponseBody(static_cast<int32_t>(OpCode::kWhoAmI), jute::Encode(who));
  EXPECT_EQ(std::get<WhoAmIResponse>(*w), who);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*DecodeResponseBody(static_cast<int32_t>(OpCode::kDelete), "")));
  EXPECT_FALSE(DecodeResponseBody(1234, "").ok());
}

// ---- framing ----

TEST(JutePackets, Split) {
  std::string stream;
  AppendPacket("abc", &stream);
  AppendPacket("", &stream);
  std::string_view payload;
  size_t consumed = 0;
  Status error;
  EXPECT_EQ(SplitPacket(std::string_view(stream).substr(0, 3), 100, &payload, &consumed, &error),
            SplitResult::kNeedMore);
  EXPECT_EQ(SplitPacket(std::string_view(stream).substr(0, 6), 100, &payload, &consumed, &error),
            SplitResult::kNeedMore);
  ASSERT_EQ(SplitPacket(stream, 100, &payload, &consumed, &error), SplitResult::kPacket);
  EXPECT_EQ(payload, "abc");
  EXPECT_EQ(consumed, 7u);
  ASSERT_EQ(SplitPacket(std::string_view(stream).substr(7), 100, &payload, &consumed, &error),
            SplitResult::kPacket);
  EXPECT_EQ(payload, "");
  EXPECT_EQ(consumed, 4u);
}

TEST(JutePackets, BadLengthsRefusedFromTheHeader) {
  std::string_view payload;
  size_t consumed = 0;
  Status error;
  EXPECT_EQ(SplitPacket(Hex("ffffffff"), jute::kDefaultMaxBuffer, &payload, &consumed, &error), SplitResult::kError);
  EXPECT_EQ(error.message(), "packet length -1 out of range [0, 1048575]");
  EXPECT_EQ(SplitPacket(Hex("00100000"), jute::kDefaultMaxBuffer, &payload, &consumed, &error), SplitResult::kError);
  EXPECT_EQ(error.message(), "packet length 1048576 out of range [0, 1048575]");
  EXPECT_EQ(SplitPacket(Hex("000fffff"), jute::kDefaultMaxBuffer, &payload, &consumed, &error),
            SplitResult::kNeedMore);  // exactly the limit is fine
}

// ---- constants ----

TEST(JuteProtocol, NumbersAndNames) {
  EXPECT_EQ(OpCodeName(0), "notification");
  EXPECT_EQ(OpCodeName(21), "createTTL");
  EXPECT_EQ(OpCodeName(107), "whoAmI");
  EXPECT_EQ(OpCodeName(-11), "closeSession");
  EXPECT_EQ(OpCodeName(10), "unknown");
  EXPECT_EQ(ErrorCodeName(0), "OK");
  EXPECT_EQ(ErrorCodeName(-112), "SESSIONEXPIRED");
  EXPECT_EQ(ErrorCodeName(-127), "THROTTLEDOP");
  EXPECT_EQ(ErrorCodeName(-126), "UNKNOWN");
  EXPECT_EQ(EventTypeName(4), "NodeChildrenChanged");
  EXPECT_EQ(KeeperStateName(-112), "Expired");
  EXPECT_EQ(perms::kAll, 31);
  EXPECT_TRUE(IsValidCreateMode(6));
  EXPECT_FALSE(IsValidCreateMode(7));
  EXPECT_FALSE(IsValidCreateMode(-1));
  EXPECT_TRUE(IsSequential(CreateMode::kPersistentSequentialWithTtl));
  EXPECT_TRUE(IsEphemeral(CreateMode::kEphemeralSequential));
  EXPECT_FALSE(IsEphemeral(CreateMode::kContainer));
  EXPECT_EQ(xid::kSetWatches, -8);
}

}  // namespace
}  // namespace dougong::zk
