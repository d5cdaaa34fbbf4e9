// libFuzzer target: keeper's request dispatcher — what the server does with
// a request once it is framed: decode it by opcode, then either apply it as
// a logged transaction (StateMachine::Apply, both with the decoded body and
// from the logged bytes as recovery does) or answer it from the tree
// (ExecuteRead), for one of a few sessions with different auth.
//
// Input: a stream of length-prefixed request packets (RequestHeader + body),
// as a client sends after its ConnectRequest. The low 2 bits of each xid pick
// the session (3 = the server's own, for closeSession and deleteContainer).
//
// Invariants checked beyond "no crash, leak or UB": the tree rebuilt from a
// snapshot of the state machine has the same digest and sessions, and
// applying the logged bytes on a second state machine gives the same digest
// as applying the decoded bodies (the log replays to the same state).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "keeper/read_ops.h"
#include "keeper/state_machine.h"
#include "keeper/txn.h"
#include "zk/packet.h"
#include "zk/record.h"
#include "zk/requests.h"

using namespace dougong;
using namespace dougong::keeper;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  DataTreeOptions options;
  options.extended_types_enabled = true;
  StateMachine sm(options);
  StateMachine replica(options);  // fed from the logged bytes only
  AuthContext auths[3];
  auths[1].ids = DigestAuthIds("alice:pw", "");
  auths[2].ids = DigestAuthIds("super:pw", GenerateDigest("super:pw"));
  auths[2].client_ip = "10.0.0.2";
  int64_t zxid = 1;
  for (int s = 0; s < 3; ++s) {
    Txn create{static_cast<int32_t>(zk::OpCode::kCreateSession), s + 1, 1000, 30000, "", {}, ""};
    sm.Apply(create, zxid);
    replica.Apply(create, zxid);
    ++zxid;
  }
  int packets = 0;
  while (!in.empty() && packets++ < 64) {
    std::string_view payload;
    size_t consumed = 0;
    Status error;
    if (zk::SplitPacket(in, 1 << 16, &payload, &consumed, &error) != zk::SplitResult::kPacket) break;
    in.remove_prefix(consumed);
    zk::jute::Reader r(payload, 1 << 16);
    zk::RequestHeader header;
    if (!zk::jute::Decode(r, &header).ok()) continue;
    std::string_view body_bytes = r.rest();
    Result<zk::RequestBody> body = zk::DecodeRequestBody(header.type, body_bytes, 1 << 16);
    if (!body.ok()) continue;
    int who = header.xid & 3;
    int64_t session = who == 3 ? 0 : who + 1;
    const AuthContext& auth = auths[who == 3 ? 0 : who];
    if (IsTxnOpcode(header.type)) {
      Txn txn{header.type, session, 1000 + zxid, 0, auth.client_ip, auth.ids, std::string(body_bytes)};
      sm.Apply(txn, zxid, &*body);
      std::string logged;
      EncodeTxn(txn, &logged);
      Result<Txn> back = DecodeTxn(logged);
      Check(back.ok(), "a txn decodes after encoding");
      replica.Apply(*back, zxid);
      ++zxid;
    } else {
      OpResult out;
      ExecuteRead(sm.tree(), header.type, *body, auth, session, &out);
      ExecuteRead(replica.tree(), header.type, *body, auth, session, &out);
    }
    // The server's cleanup, as a logged deleteContainer per candidate.
    if ((header.xid & 0x30) == 0x30) {
      for (const std::string& path : sm.tree().CleanupCandidates(INT64_MAX / 4)) {
        std::string del_body;
        zk::jute::Writer w(&del_body);
        zk::jute::Encode(zk::DeleteRequest{path, -1}, w);
        Txn txn{static_cast<int32_t>(zk::OpCode::kDeleteContainer), 0, 1000 + zxid, 0, "", {}, del_body};
        sm.Apply(txn, zxid);
        replica.Apply(txn, zxid);
        ++zxid;
      }
    }
  }
  Check(sm.tree().Digest() == replica.tree().Digest(), "replaying the logged bytes gives the same tree");
  Check(sm.sessions() == replica.sessions(), "replaying the logged bytes gives the same sessions");

  std::string snapshot;
  Status saved = sm.Save([&](std::string_view chunk) {
    snapshot.append(chunk);
    return Status::Ok();
  });
  Check(saved.ok(), "the state machine saves");
  StateMachine::Loader loader(options);
  // Feed in uneven pieces: the loader must not care where chunks split.
  for (size_t pos = 0, step = 7; pos < snapshot.size(); pos += step, step = step * 3 % 4093 + 1) {
    Check(loader.Feed(std::string_view(snapshot).substr(pos, step)).ok(), "a snapshot loads");
  }
  Result<std::unique_ptr<StateMachine>> loaded = loader.Finish(sm.last_zxid());
  Check(loaded.ok(), "a snapshot finishes loading");
  Check((*loaded)->tree().Digest() == sm.tree().Digest(), "the loaded tree has the saved digest");
  Check((*loaded)->sessions() == sm.sessions(), "the loaded sessions are the saved ones");
  return 0;
}
