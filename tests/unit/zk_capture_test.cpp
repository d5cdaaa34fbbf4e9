// The jute codec (src/zk) against bytes captured from real ZooKeeper 3.8
// traffic: kazoo, zkCli.sh (the Java client) and Apache's C client talking to
// an Apache ZooKeeper 3.8 server through a recording proxy
// (testdata/zk_capture/capture.py, run by hand; this test only reads its
// .txt files). Every packet must decode as what it is, and re-encode to
// exactly the captured bytes: our encoder writes ZooKeeper's bytes.
//
// File format: "# connection N" starts a connection; then one packet per
// line, "C>S <hex>" or "S>C <hex>", the payload without its length prefix, in
// the order the proxy saw them (a reply follows its request).
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "zk/jute.h"
#include "zk/multi.h"
#include "zk/protocol.h"
#include "zk/record.h"
#include "zk/records.h"
#include "zk/requests.h"

#ifndef DOUGONG_ZK_CAPTURE_DIR
#error "DOUGONG_ZK_CAPTURE_DIR must name tests/unit/testdata/zk_capture"
#endif

namespace dougong::zk {
namespace {

struct Packet {
  bool to_server = false;
  std::string bytes;
  int line = 0;
};

using Conversation = std::vector<Packet>;

std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool FromHex(std::string_view hex, std::string* out) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::vector<Conversation> LoadCapture(const std::string& name) {
  std::string path = std::string(DOUGONG_ZK_CAPTURE_DIR) + "/" + name + ".txt";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<Conversation> convs;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    if (line.rfind("# connection", 0) == 0) {
      convs.emplace_back();
      continue;
    }
    if (line[0] == '#') continue;
    Packet p;
    p.line = lineno;
    std::string_view rest(line);
    if (rest.rfind("C>S ", 0) == 0) {
      p.to_server = true;
    } else if (rest.rfind("S>C ", 0) != 0) {
      ADD_FAILURE() << path << ":" << lineno << ": bad line";
      continue;
    }
    if (!FromHex(rest.substr(4), &p.bytes)) {
      ADD_FAILURE() << path << ":" << lineno << ": bad hex";
      continue;
    }
    if (convs.empty()) convs.emplace_back();
    convs.back().push_back(std::move(p));
  }
  return convs;
}

// What the replay saw, for the coverage checks.
struct Seen {
  std::set<int32_t> request_ops;       // opcodes of requests
  std::set<int32_t> ok_response_ops;   // opcodes of replies with err 0
  std::set<int32_t> errors;            // non-zero ReplyHeader.err
  std::set<int32_t> special_xids;      // negative reply xids
  std::set<int32_t> event_types;       // WatcherEvent.type
  std::vector<Request> requests;
  std::vector<ResponseBody> responses;
  int packets = 0;
  // Lines of packets that re-encode identically except that a null ustring
  // or vector (length -1) comes back empty (length 0): see NullReadAsEmpty.
  std::vector<int> null_read_as_empty;
};

// True if `ours` is `captured` with some null lengths (ff ff ff ff) written
// as 0 (00 00 00 00) and nothing else changed. record.h reads a null into a
// plain std::string or std::vector as empty, on purpose (only fields where
// ZooKeeper gives null a meaning are optional), so that is what re-encoding
// such a packet gives; it has the same meaning to the server.
bool NullReadAsEmpty(std::string_view captured, std::string_view ours) {
  if (captured.size() != ours.size() || captured == ours) return false;
  for (size_t i = 0; i < captured.size();) {
    if (captured[i] == ours[i]) {
      ++i;
      continue;
    }
    // ff ff ff ff and 00 00 00 00 differ in every byte: a difference starts
    // right at the length field.
    size_t start = i;
    if (start + 4 > captured.size() || captured.substr(start, 4) != std::string_view("\xff\xff\xff\xff", 4) ||
        ours.substr(start, 4) != std::string_view("\0\0\0\0", 4)) {
      return false;
    }
    i = start + 4;
  }
  return true;
}

// Replays one capture: decodes every packet and checks that re-encoding
// gives back the captured bytes. Failures name the file line and the bytes.
class Replay {
 public:
  explicit Replay(std::string name) : name_(std::move(name)) {}

  Seen Run() {
    std::vector<Conversation> convs = LoadCapture(name_);
    EXPECT_FALSE(convs.empty()) << name_ << ": no connections captured";
    for (const Conversation& conv : convs) RunConversation(conv);
    return seen_;
  }

 private:
  std::string Where(const Packet& p) const {
    return name_ + ".txt:" + std::to_string(p.line) + " " + (p.to_server ? "C>S " : "S>C ") + ToHex(p.bytes);
  }

  void Fail(const Packet& p, const std::string& what) { ADD_FAILURE() << Where(p) << "\n  " << what; }

  void ExpectSame(const Packet& p, const std::string& reencoded, const std::string& decoded) {
    if (reencoded == p.bytes) return;
    if (NullReadAsEmpty(p.bytes, reencoded)) {
      seen_.null_read_as_empty.push_back(p.line);
      std::cout << "note: " << Where(p) << "\n  re-encodes with null strings as empty: " << decoded << "\n";
      return;
    }
    size_t at = 0;
    while (at < reencoded.size() && at < p.bytes.size() && reencoded[at] == p.bytes[at]) ++at;
    Fail(p, "re-encodes differently (first difference at byte " + std::to_string(at) + ")\n  ours:     " +
                ToHex(reencoded) + "\n  decoded:  " + decoded);
  }

  template <class T>
  bool DecodeRecord(const Packet& p, std::string_view bytes, T* out) {
    Status s = jute::DecodeAll(bytes, out);
    if (!s.ok()) Fail(p, "does not decode as " + std::string(T::kName) + ": " + s.ToString());
    return s.ok();
  }

  void RunConversation(const Conversation& conv) {
    bool connect_sent = false, connect_answered = false;
    std::map<int32_t, int32_t> opcode_by_xid;  // the latest request with that xid
    for (const Packet& p : conv) {
      ++seen_.packets;
      if (p.to_server && !connect_sent) {
        connect_sent = true;
        ConnectRequest req;
        if (DecodeRecord(p, p.bytes, &req)) ExpectSame(p, jute::Encode(req), jute::ToString(req));
      } else if (!p.to_server && !connect_answered) {
        connect_answered = true;
        ConnectResponse resp;
        if (DecodeRecord(p, p.bytes, &resp)) ExpectSame(p, jute::Encode(resp), jute::ToString(resp));
      } else if (p.to_server) {
        OnRequest(p, &opcode_by_xid);
      } else {
        OnReply(p, opcode_by_xid);
      }
    }
  }

  void OnRequest(const Packet& p, std::map<int32_t, int32_t>* opcode_by_xid) {
    Result<Request> req = DecodeRequest(p.bytes);
    if (!req.ok()) {
      Fail(p, "does not decode as a request: " + req.status().ToString());
      return;
    }
    std::string out;
    Status s = EncodeRequest(req->header, req->body, &out);
    if (!s.ok()) {
      Fail(p, "does not re-encode: " + s.ToString());
      return;
    }
    ExpectSame(p, out, jute::ToString(req->header) + " " + ToString(req->body));
    (*opcode_by_xid)[req->header.xid] = req->header.type;
    seen_.request_ops.insert(req->header.type);
    seen_.requests.push_back(std::move(req).value());
  }

  void OnReply(const Packet& p, const std::map<int32_t, int32_t>& opcode_by_xid) {
    jute::Reader r(p.bytes);
    ReplyHeader hdr;
    if (Status s = jute::Decode(r, &hdr); !s.ok()) {
      Fail(p, "does not decode as ReplyHeader: " + s.ToString());
      return;
    }
    std::string_view body = r.rest();
    std::string out = jute::Encode(hdr);
    std::string decoded = jute::ToString(hdr);
    if (hdr.err != 0) seen_.errors.insert(hdr.err);
    if (hdr.xid < 0) seen_.special_xids.insert(hdr.xid);

    if (hdr.xid == xid::kNotification) {
      WatcherEvent ev;
      if (!DecodeRecord(p, body, &ev)) return;
      out += jute::Encode(ev);
      decoded += " " + jute::ToString(ev);
      seen_.event_types.insert(ev.type);
    } else if (hdr.xid == xid::kPing || hdr.xid == xid::kAuth || hdr.xid == xid::kSetWatches) {
      if (!body.empty()) {
        Fail(p, "reply with xid " + std::to_string(hdr.xid) + " has a body of " + std::to_string(body.size()) +
                    " bytes");
        return;
      }
    } else {
      auto it = opcode_by_xid.find(hdr.xid);
      if (it == opcode_by_xid.end()) {
        Fail(p, "reply to xid " + std::to_string(hdr.xid) + ", which no request used");
        return;
      }
      int32_t op = it->second;
      if (hdr.err != 0) {
        // ZooKeeper answers a failed request with the header alone.
        if (!body.empty()) {
          Fail(p, std::string(OpCodeName(op)) + " reply with err " + std::to_string(hdr.err) + " has a body");
          return;
        }
      } else {
        Result<ResponseBody> resp = DecodeResponseBody(op, body);
        if (!resp.ok()) {
          Fail(p, "does not decode as the reply to " + std::string(OpCodeName(op)) + ": " +
                      resp.status().ToString());
          return;
        }
        if (Status s = EncodeResponseBody(*resp, &out); !s.ok()) {
          Fail(p, "does not re-encode: " + s.ToString());
          return;
        }
        decoded += " " + ToString(*resp);
        seen_.ok_response_ops.insert(op);
        seen_.responses.push_back(std::move(resp).value());
      }
    }
    ExpectSame(p, out, decoded);
  }

  std::string name_;
  Seen seen_;
};

template <class E>
int32_t Op(E e) {
  return static_cast<int32_t>(e);
}

void ExpectOps(const std::set<int32_t>& seen, std::initializer_list<OpCode> want, const char* what) {
  for (OpCode op : want) {
    EXPECT_TRUE(seen.count(Op(op))) << what << " lacks " << OpCodeName(Op(op));
  }
}

// ---- kazoo 2.8 ----

TEST(ZkCapture, Kazoo) {
  Seen seen = Replay("kazoo").Run();
  EXPECT_GT(seen.packets, 50);
  ExpectOps(seen.request_ops,
            {OpCode::kCreate, OpCode::kCreate2, OpCode::kCreateContainer, OpCode::kCreateTTL, OpCode::kDelete,
             OpCode::kExists, OpCode::kGetData, OpCode::kSetData, OpCode::kGetACL, OpCode::kSetACL,
             OpCode::kGetChildren, OpCode::kGetChildren2, OpCode::kSync, OpCode::kMulti, OpCode::kPing,
             OpCode::kAuth, OpCode::kCloseSession},
            "kazoo requests");
  ExpectOps(seen.ok_response_ops, {OpCode::kMulti, OpCode::kCreateTTL, OpCode::kGetACL}, "kazoo replies");
  EXPECT_TRUE(seen.errors.count(Op(ErrorCode::kNoNode)));
  EXPECT_TRUE(seen.special_xids.count(xid::kPing));
  EXPECT_TRUE(seen.special_xids.count(xid::kAuth));
  for (EventType t : {EventType::kNodeCreated, EventType::kNodeDeleted, EventType::kNodeDataChanged,
                      EventType::kNodeChildrenChanged}) {
    EXPECT_TRUE(seen.event_types.count(static_cast<int32_t>(t))) << EventTypeName(static_cast<int32_t>(t));
  }

  // Spot checks of decoded values: the hand-made TTL create, the digest
  // ACL, and a multi that failed on its check op.
  bool ttl = false, digest = false;
  for (const Request& r : seen.requests) {
    if (const auto* c = std::get_if<CreateTTLRequest>(&r.body); c && c->path == "/k/ttl") {
      ttl = true;
      EXPECT_EQ(c->flags, static_cast<int32_t>(CreateMode::kPersistentWithTtl));
      EXPECT_EQ(c->ttl, 60000);
    }
    if (const auto* s = std::get_if<SetACLRequest>(&r.body)) {
      digest = true;
      ASSERT_EQ(s->acl.size(), 2u);
      EXPECT_EQ(s->acl[0].id.scheme, "digest");
      EXPECT_EQ(s->acl[0].id.id.rfind("alice:", 0), 0u);
      EXPECT_EQ(s->acl[1], (ACL{perms::kRead, ids::AnyoneIdUnsafe()}));
    }
  }
  EXPECT_TRUE(ttl);
  EXPECT_TRUE(digest);

  // kazoo writes an empty ustring as null (its write_string), so
  // Id("auth", "") goes out as scheme "auth", id null, which we read as ""
  // and write back as "": the only packets not re-encoded byte for byte.
  size_t auth_acl_requests = 0;
  for (const Request& r : seen.requests) {
    const auto* c = std::get_if<CreateRequest>(&r.body);
    if (c && !c->acl.empty() && c->acl[0].id == ids::AuthIds()) ++auth_acl_requests;
  }
  EXPECT_EQ(auth_acl_requests, 1u);
  EXPECT_EQ(seen.null_read_as_empty.size(), auth_acl_requests);
  bool failed_multi = false;
  for (const ResponseBody& b : seen.responses) {
    const auto* m = std::get_if<MultiResponse>(&b);
    if (!m) continue;
    for (const MultiResult& res : m->results) {
      if (res.err == Op(ErrorCode::kBadVersion)) failed_multi = true;
    }
  }
  EXPECT_TRUE(failed_multi);
}

// ---- zkCli.sh, the Java client of ZooKeeper 3.8 ----

TEST(ZkCapture, ZkCli) {
  Seen seen = Replay("zkcli").Run();
  EXPECT_GT(seen.packets, 50);
  ExpectOps(seen.request_ops,
            {OpCode::kCreate, OpCode::kCreateContainer, OpCode::kCreateTTL, OpCode::kDelete, OpCode::kExists,
             OpCode::kGetData, OpCode::kSetData, OpCode::kGetACL, OpCode::kSetACL, OpCode::kGetChildren,
             OpCode::kGetChildren2, OpCode::kSync, OpCode::kMulti, OpCode::kRemoveWatches, OpCode::kAuth,
             OpCode::kGetEphemerals, OpCode::kGetAllChildrenNumber, OpCode::kSetWatches2, OpCode::kAddWatch,
             OpCode::kWhoAmI, OpCode::kPing, OpCode::kCloseSession},
            "zkCli requests");
  ExpectOps(seen.ok_response_ops,
            {OpCode::kWhoAmI, OpCode::kGetEphemerals, OpCode::kGetAllChildrenNumber, OpCode::kAddWatch,
             OpCode::kSetWatches2, OpCode::kRemoveWatches, OpCode::kSync},
            "zkCli replies");
  EXPECT_TRUE(seen.special_xids.count(xid::kPing));
  EXPECT_TRUE(seen.special_xids.count(xid::kNotification));

  bool recursive = false, whoami_digest = false;
  for (const Request& r : seen.requests) {
    if (const auto* a = std::get_if<AddWatchRequest>(&r.body); a && a->path == "/x") {
      recursive = a->mode == static_cast<int32_t>(AddWatchMode::kPersistentRecursive);
    }
  }
  for (const ResponseBody& b : seen.responses) {
    if (const auto* w = std::get_if<WhoAmIResponse>(&b)) {
      for (const ClientInfo& ci : w->client_info) whoami_digest |= ci.auth_scheme == "digest" && ci.user == "bob";
    }
  }
  EXPECT_TRUE(recursive);
  EXPECT_TRUE(whoami_digest);
  EXPECT_TRUE(seen.null_read_as_empty.empty()) << "the Java client writes no null where we read empty";
}

// ---- Apache's C client (libzookeeper_mt), when it was installed ----

TEST(ZkCapture, CClient) {
  std::ifstream probe(std::string(DOUGONG_ZK_CAPTURE_DIR) + "/c_client.txt");
  if (!probe) GTEST_SKIP() << "no C client capture (libzookeeper_mt.so was not installed)";
  Seen seen = Replay("c_client").Run();
  EXPECT_GT(seen.packets, 20);
  ExpectOps(seen.request_ops,
            {OpCode::kCreate, OpCode::kCreateContainer, OpCode::kCreateTTL, OpCode::kGetData, OpCode::kSetData,
             OpCode::kExists, OpCode::kGetChildren, OpCode::kGetChildren2, OpCode::kGetACL, OpCode::kSetACL,
             OpCode::kAuth, OpCode::kSetWatches, OpCode::kPing, OpCode::kCloseSession},
            "C client requests");
  EXPECT_TRUE(seen.special_xids.count(xid::kSetWatches));
  bool null_data = false;
  for (const ResponseBody& b : seen.responses) {
    if (const auto* g = std::get_if<GetDataResponse>(&b)) null_data |= g->data.is_null;
  }
  EXPECT_TRUE(null_data) << "getData of a node created with null data answers a null buffer";
  EXPECT_TRUE(seen.null_read_as_empty.empty()) << "the C client writes no null where we read empty";
}

}  // namespace
}  // namespace dougong::zk
