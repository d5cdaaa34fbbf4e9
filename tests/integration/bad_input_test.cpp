// Bad input never takes the server down: after each case a well-behaved
// client on another connection still gets correct answers.
#include <random>

#include "dougong/rpc/meta.pb.h"
#include "rpc/frame.h"
#include "test_util.h"

namespace dougong::testing {
namespace {

using test::TestServiceStub;
using test::WorkRequest;

class BadInput : public ::testing::Test {
 protected:
  static rpc::ServerOptions Options() {
    rpc::ServerOptions o;
    o.idle_timeout = std::chrono::milliseconds(300);
    o.max_frame_size = 1 << 20;
    return o;
  }
  BadInput() : ts_(Options()), stub_(ts_.Channel()) {}

  void ExpectServerHealthy() {
    WorkRequest req;
    req.set_text("still here");
    auto r = stub_.Work(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->text(), "still here");
  }

  // A well-formed request frame for TestService/Work.
  static std::string RequestFrame(uint64_t id, const std::string& body, std::string_view method = "Work") {
    rpc::wire::RpcMeta meta;
    meta.set_correlation_id(id);
    meta.set_service("dougong.test.TestService");
    meta.set_method(std::string(method));
    std::string m = meta.SerializeAsString();
    rpc::FrameHeader h;
    h.type = rpc::FrameType::kRequest;
    h.meta_size = static_cast<uint32_t>(m.size());
    h.body_size = static_cast<uint32_t>(body.size());
    std::string out(rpc::kFrameHeaderSize, '\0');
    rpc::EncodeFrameHeader(h, out.data());
    return out + m + body;
  }

  // Decodes response frames from raw bytes.
  static std::vector<rpc::wire::RpcMeta> Responses(const std::string& bytes) {
    rpc::FrameReader reader(64 << 20);
    reader.Append(bytes);
    std::vector<rpc::wire::RpcMeta> out;
    rpc::Frame f;
    Status err;
    while (reader.Next(&f, &err) == rpc::FrameReader::Result::kFrame) {
      rpc::wire::RpcMeta m;
      m.ParseFromArray(f.meta.data(), static_cast<int>(f.meta.size()));
      out.push_back(m);
    }
    return out;
  }

  TestServer ts_;
  TestServiceStub stub_;
};

TEST_F(BadInput, RandomBytesCloseTheConnection) {
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    RawSocket s(ts_.server.port());
    std::string junk(1 + rng() % 4096, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (round % 2 == 0) junk[0] = 'D', junk[1] = 'G', junk[2] = 1;  // past the sniffer
    s.Send(junk);
    bool closed;
    s.ReadUntilClosed(std::chrono::seconds(5), &closed);
    EXPECT_TRUE(closed) << "round " << round;
  }
  ExpectServerHealthy();
}

TEST_F(BadInput, HugeLengthIsRefusedWithoutAllocating) {
  RawSocket s(ts_.server.port());
  rpc::FrameHeader h;
  h.type = rpc::FrameType::kRequest;
  h.meta_size = 10;
  h.body_size = 0xFFFFFFFFu;  // 4 GiB
  std::string hdr(rpc::kFrameHeaderSize, '\0');
  rpc::EncodeFrameHeader(h, hdr.data());
  s.Send(hdr);
  bool closed;
  std::string got = s.ReadUntilClosed(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  // The server says why before closing: a go-away with RESOURCE_EXHAUSTED.
  auto frames = Responses(got);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].status_code(), static_cast<int>(Code::kResourceExhausted));
  EXPECT_NE(frames[0].status_message().find("maximum frame size"), std::string::npos);
  ExpectServerHealthy();
}

TEST_F(BadInput, FrameSplitAtEveryByteBoundary) {
  WorkRequest req;
  req.set_text("split");
  std::string frame = RequestFrame(7, req.SerializeAsString());
  for (size_t cut = 1; cut < frame.size(); ++cut) {
    RawSocket s(ts_.server.port());
    s.Send(frame.substr(0, cut));
    s.Send(frame.substr(cut));
    std::string got = s.ReadUntil("split", std::chrono::seconds(5));
    auto frames = Responses(got);
    ASSERT_EQ(frames.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(frames[0].correlation_id(), 7u);
    EXPECT_EQ(frames[0].status_code(), 0);
  }
  // And one byte per write.
  RawSocket s(ts_.server.port());
  for (char c : frame) s.Send(std::string_view(&c, 1));
  EXPECT_EQ(Responses(s.ReadUntil("split", std::chrono::seconds(5))).size(), 1u);
  ExpectServerHealthy();
}

TEST_F(BadInput, TruncatedFrameThenSilenceIsClosedAfterIdleTimeout) {
  WorkRequest req;
  req.set_text("never finished");
  std::string frame = RequestFrame(1, req.SerializeAsString());
  RawSocket s(ts_.server.port());
  s.Send(frame.substr(0, frame.size() - 3));
  bool closed;
  auto start = std::chrono::steady_clock::now();
  s.ReadUntilClosed(std::chrono::seconds(10), &closed);
  EXPECT_TRUE(closed);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  ExpectServerHealthy();
}

TEST_F(BadInput, UnknownServiceOrMethodIsUnimplemented) {
  RawSocket s(ts_.server.port());
  s.Send(RequestFrame(1, "", "NoSuchMethod"));
  auto frames = Responses(s.ReadUntil("NoSuchMethod", std::chrono::seconds(5)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].status_code(), static_cast<int>(Code::kUnimplemented));
  // The connection stays usable after a per-call error.
  WorkRequest req;
  req.set_text("after");
  s.Send(RequestFrame(2, req.SerializeAsString()));
  frames = Responses(s.ReadUntil("after", std::chrono::seconds(5)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].status_code(), 0);
  ExpectServerHealthy();
}

TEST_F(BadInput, BodyThatIsNotTheMessageIsInvalidArgument) {
  RawSocket s(ts_.server.port());
  // A field-1 length-delimited header that claims more bytes than follow.
  s.Send(RequestFrame(3, std::string("\x0a\x7f\x01\x02", 4)));
  auto frames = Responses(s.ReadUntil("WorkRequest", std::chrono::seconds(5)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].status_code(), static_cast<int>(Code::kInvalidArgument));
  ExpectServerHealthy();
}

TEST_F(BadInput, MalformedHttpGets400) {
  RawSocket s(ts_.server.port());
  s.Send("POST /x/y HTTP/1.1\r\nContent-Length: banana\r\n\r\n");
  bool closed;
  std::string got = s.ReadUntilClosed(std::chrono::seconds(5), &closed);
  EXPECT_NE(got.find("HTTP/1.1 400"), std::string::npos) << got;
  EXPECT_TRUE(closed);
  RawSocket t(ts_.server.port());
  t.Send("GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n");
  got = t.ReadUntilClosed(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  ExpectServerHealthy();
}

TEST_F(BadInput, MalformedJsonGets400InvalidArgument) {
  RawSocket s(ts_.server.port());
  std::string body = R"({"text": "unterminated)";
  s.Send("POST /dougong.test.TestService/Work HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string got = s.ReadUntil("}\n", std::chrono::seconds(5));
  EXPECT_NE(got.find("HTTP/1.1 400"), std::string::npos) << got;
  EXPECT_NE(got.find("INVALID_ARGUMENT"), std::string::npos) << got;
  std::string wrong = R"({"no_such_field": 1})";
  s.Send("POST /dougong.test.TestService/Work HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(wrong.size()) + "\r\n\r\n" + wrong);
  got = s.ReadUntil("}\n", std::chrono::seconds(5));
  EXPECT_NE(got.find("HTTP/1.1 400"), std::string::npos) << got;
  ExpectServerHealthy();
}

TEST_F(BadInput, ThousandConnectionsOpenedAndDroppedAtOnce) {
  {
    std::vector<std::unique_ptr<RawSocket>> socks;
    for (int i = 0; i < 1000; ++i) {
      socks.push_back(std::make_unique<RawSocket>(ts_.server.port()));
      if (i % 3 == 0) socks.back()->Send("DG");  // some mid-sniff
    }
  }  // all closed at once
  ExpectServerHealthy();
  EXPECT_TRUE(WaitFor([&] {
    return ts_.server.MetricsPage().find("dougong_rpc_server_connections 1\n") != std::string::npos;
  }));
}

TEST_F(BadInput, ResponseFrameFromClientIsAProtocolError) {
  RawSocket s(ts_.server.port());
  rpc::FrameHeader h;
  h.type = rpc::FrameType::kResponse;
  std::string hdr(rpc::kFrameHeaderSize, '\0');
  rpc::EncodeFrameHeader(h, hdr.data());
  s.Send(hdr);
  bool closed;
  auto frames = Responses(s.ReadUntilClosed(std::chrono::seconds(5), &closed));
  EXPECT_TRUE(closed);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].status_code(), static_cast<int>(Code::kInvalidArgument));
  ExpectServerHealthy();
}

}  // namespace
}  // namespace dougong::testing
