// Writes the seed corpora checked in under tests/fuzz/corpus/ (built by
// tests/fuzz/CMakeLists.txt; run `make_seeds <corpus dir>` to regenerate).
// Frames are produced by the real BuildFrame, so the seeds follow the
// protocol exactly; each seed starts with the fuzz targets' control prefix
// (see the comments at the top of the two fuzz targets).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "dougong/rpc/meta.pb.h"
#include "echo.pb.h"
#include "rpc/frame.h"

namespace fs = std::filesystem;
using namespace dougong;
using namespace dougong::rpc;

namespace {

std::string Encode(FrameType type, const wire::RpcMeta& meta, const google::protobuf::MessageLite* body,
                  std::string_view attachment = {}) {
  OutgoingFrame out;
  Status st = BuildFrame(type, meta, body, attachment.empty() ? Bytes() : Bytes::Copy(attachment), 1u << 20, &out);
  if (!st.ok()) {
    std::fprintf(stderr, "BuildFrame: %s\n", st.ToString().c_str());
    std::exit(1);
  }
  return out.head + out.attachment.ToString();
}

wire::RpcMeta RequestMeta(uint64_t id, int compression = 0) {
  wire::RpcMeta meta;
  meta.set_correlation_id(id);
  meta.set_service("dougong.example.EchoService");
  meta.set_method("Echo");
  meta.set_compression(compression);
  return meta;
}

void Write(const fs::path& path, std::string_view prefix, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << prefix << bytes;
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  fs::path root = argv[1];
  fs::path frames = root / "frame_decoder";
  fs::path http = root / "http_request";
  fs::create_directories(frames);
  fs::create_directories(http);

  example::EchoRequest hello;
  hello.set_message("hello");
  example::EchoResponse hello_back;
  hello_back.set_message("hello");

  // 1. One plain request, read in one go (prefix 0x00: no chunk sizes).
  Write(frames / "request", std::string("\x00", 1), Encode(FrameType::kRequest, RequestMeta(1), &hello));

  // 2. A request with everything: timeout, metadata, trace, lz4 body and an
  //    attachment, read in chunks of 1, 6 and 1025 bytes.
  {
    wire::RpcMeta meta = RequestMeta(7, 1);
    meta.set_timeout_us(250000);
    auto* kv = meta.add_metadata();
    kv->set_key("x-user");
    kv->set_value("alice");
    meta.mutable_trace()->set_trace_id(0x1234);
    meta.mutable_trace()->set_span_id(0x99);
    meta.mutable_trace()->set_sampled(true);
    example::EchoRequest big;
    big.set_message(std::string(300, 'a'));
    big.set_payload(std::string(200, '\x01'));
    Write(frames / "request_lz4_attachment", std::string("\x03\x00\x05\x81", 4),
          Encode(FrameType::kRequest, meta, &big, "attachment bytes"));
  }

  // 3. A zstd request, a ping and a cancel back to back, fed with Append()
  //    in 17-byte pieces.
  {
    example::EchoRequest req;
    req.set_message(std::string(100, 'z'));
    std::string s = Encode(FrameType::kRequest, RequestMeta(2, 2), &req);
    s += BuildControlFrame(FrameType::kPing, nullptr).head;
    wire::RpcMeta cancel;
    cancel.set_correlation_id(2);
    s += BuildControlFrame(FrameType::kCancel, &cancel).head;
    Write(frames / "zstd_ping_cancel", std::string("\x11\x10", 2), s);
  }

  // 4. The server's side: a response with an attachment, an error response,
  //    a pong and a go-away (what a client decodes).
  {
    wire::RpcMeta ok;
    ok.set_correlation_id(1);
    std::string s = Encode(FrameType::kResponse, ok, &hello_back, "att");
    wire::RpcMeta err;
    err.set_correlation_id(2);
    err.set_status_code(12);
    err.set_status_message("unknown method dougong.example.EchoService/Nope");
    s += Encode(FrameType::kResponse, err, nullptr);
    s += BuildControlFrame(FrameType::kPong, nullptr).head;
    wire::RpcMeta away;
    away.set_status_code(14);
    away.set_status_message("server is stopping");
    away.set_last_correlation_id(2);
    s += BuildControlFrame(FrameType::kGoAway, &away).head;
    Write(frames / "responses_goaway", std::string("\x41\x13", 2), s);
  }

  // HTTP seeds: prefix 0x00 = everything in one read; 0x02 0x02 0x40 =
  // reads of 3 and 65 bytes (the sniffer hands over the first 3).
  const std::string json = "{\"message\":\"hello\",\"payload\":\"aGk=\"}";
  Write(http / "post_json", std::string("\x00", 1),
        "POST /dougong.example.EchoService/Echo HTTP/1.1\r\n"
        "Host: localhost\r\n"
        "Content-Type: application/json\r\n"
        "X-Timeout-Ms: 500\r\n"
        "X-User: alice\r\n"
        "Content-Length: " + std::to_string(json.size()) + "\r\n"
        "\r\n" + json);
  Write(http / "keepalive_get_then_chunked_post", std::string("\x02\x02\x40", 3),
        "GET /health HTTP/1.1\r\n"
        "Host: localhost\r\n"
        "\r\n"
        "POST /dougong.example.EchoService/Echo?x=1 HTTP/1.1\r\n"
        "Host: localhost\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "b\r\n{\"message\":\r\n"
        "9\r\n\"chunked\"\r\n"
        "1\r\n}\r\n"
        "0\r\n\r\n");
  const std::string structure = "{\"a\":[1,2.5,true,null,\"s\"],\"b\":{\"c\":{}},\"d\":-1e10}";
  Write(http / "post_struct", std::string("\x00", 1),
        "POST /google.protobuf.Struct/Any HTTP/1.0\r\n"
        "Content-Length: " + std::to_string(structure.size()) + "\r\n"
        "\r\n" + structure);
  return 0;
}
