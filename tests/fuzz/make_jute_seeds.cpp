// Writes the seed corpus of jute_fuzz (tests/fuzz/corpus/jute/): real
// packets built with the codec under test, each behind jute_fuzz's one-byte
// mode prefix. Run `make_jute_seeds <corpus dir>` to regenerate.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "zk/multi.h"
#include "zk/packet.h"
#include "zk/protocol.h"
#include "zk/record.h"
#include "zk/records.h"
#include "zk/requests.h"

namespace fs = std::filesystem;
using namespace dougong;
using namespace dougong::zk;

namespace {

constexpr char kRequest = 0, kResponse = 1, kStream = 2;

void Write(const fs::path& path, char mode, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << mode << bytes;
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string Req(int32_t xid, OpCode op, const RequestBody& body) {
  std::string out;
  if (!EncodeRequest(RequestHeader{xid, static_cast<int32_t>(op)}, body, &out).ok()) std::exit(1);
  return out;
}

int32_t Op(OpCode op) { return static_cast<int32_t>(op); }

CreateRequest Create(const std::string& path, int32_t flags) {
  return CreateRequest{path, "data", ids::OpenAclUnsafe(), flags};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  fs::path dir = fs::path(argv[1]) / "jute";
  fs::create_directories(dir);

  Write(dir / "create", kRequest, Req(1, OpCode::kCreate, Create("/a", 0)));
  Write(dir / "create_ttl", kRequest,
        Req(2, OpCode::kCreateTTL, CreateTTLRequest{"/t", "d", ids::OpenAclUnsafe(), 5, 60000}));
  Write(dir / "set_watches2", kRequest,
        Req(xid::kSetWatches, OpCode::kSetWatches2, SetWatches2{7, {"/d"}, {"/e"}, {"/c"}, {"/p"}, {"/r"}}));
  Write(dir / "auth", kRequest, Req(xid::kAuth, OpCode::kAuth, AuthPacket{0, "digest", "user:pw"}));
  Write(dir / "reconfig", kRequest,
        Req(3, OpCode::kReconfig, ReconfigRequest{"server.4=h:2888:3888;2181", std::nullopt, std::nullopt, -1}));
  {
    MultiRequest multi;
    multi.ops.push_back(MultiOp{Op(OpCode::kCreate2), Create("/m/", 2)});
    multi.ops.push_back(MultiOp{Op(OpCode::kSetData), SetDataRequest{"/m", jute::Buffer::Null(), 3}});
    multi.ops.push_back(MultiOp{Op(OpCode::kCheck), CheckVersionRequest{"/m", 3}});
    multi.ops.push_back(MultiOp{Op(OpCode::kDelete), DeleteRequest{"/n", -1}});
    Write(dir / "multi", kRequest, Req(4, OpCode::kMulti, multi));
    MultiRequest read;
    read.ops.push_back(MultiOp{Op(OpCode::kGetData), GetDataRequest{"/m", true}});
    read.ops.push_back(MultiOp{Op(OpCode::kGetChildren), GetChildrenRequest{"/", false}});
    Write(dir / "multi_read", kRequest, Req(5, OpCode::kMultiRead, read));
  }

  // Replies: opcode, ReplyHeader, body.
  auto reply = [](OpCode op, const ResponseBody& body) {
    std::string out;
    jute::Writer w(&out);
    w.WriteInt(static_cast<int32_t>(op));
    jute::Encode(ReplyHeader{9, 0x100000005, 0}, w);
    if (!EncodeResponseBody(body, &out).ok()) std::exit(1);
    return out;
  };
  Stat stat{1, 2, 3, 4, 5, 6, 7, 0, 4, 0, 2};
  Write(dir / "reply_get_data", kResponse, reply(OpCode::kGetData, GetDataResponse{"data", stat}));
  Write(dir / "reply_children2", kResponse,
        reply(OpCode::kGetChildren2, GetChildren2Response{{"a", "b"}, stat}));
  {
    MultiResponse multi;
    multi.results.push_back(MultiResult{Op(OpCode::kCreate2), 0, Create2Response{"/m/0000000001", stat}});
    multi.results.push_back(MultiResult{Op(OpCode::kCheck), 0, std::monostate{}});
    multi.results.push_back(MultiResult{Op(OpCode::kError), -101, ErrorResponse{-101}});
    Write(dir / "reply_multi", kResponse, reply(OpCode::kMulti, multi));
  }

  // A client's stream: connect, ping, getData, closeSession.
  {
    std::string stream;
    AppendPacket(jute::Encode(ConnectRequest{0, 0, 30000, 0, std::string(16, '\0'), false}), &stream);
    AppendPacket(Req(xid::kPing, OpCode::kPing, std::monostate{}), &stream);
    AppendPacket(Req(1, OpCode::kGetData, GetDataRequest{"/zookeeper/config", true}), &stream);
    AppendPacket(Req(2, OpCode::kCloseSession, std::monostate{}), &stream);
    Write(dir / "stream", kStream, stream);
  }
  return 0;
}
