// libFuzzer target: the HTTP/1.1 side of the shared port, as HttpSession
// (src/rpc/http_session.cpp) reads requests: a beast request_parser with
// string_body, header_limit 64 KiB and body_limit = the server's
// max_frame_size, reading from a flat_buffer that starts with the bytes the
// protocol sniffer already read, one parser per request while the client
// keeps the connection alive. Each parsed body goes through JsonToMessage
// (src/rpc/json_codec.h) as several message types, and MessageToJson back.
//
// The URL routing (HttpSession::Handle) is a private member that needs a
// Server::Impl and a socket, so it is not reached here.
//
// Input layout (see make_seeds.cpp):
//   byte 0       low 4 bits: k, the number of chunk-size bytes that follow;
//   bytes 1..k   sizes of the successive reads, used in turn: b < 0x80 ->
//                b + 1 bytes, b >= 0x80 -> (b & 0x7f) * 1024 + 1 bytes;
//                k == 0: everything in one read. The first read is what the
//                protocol sniffer hands over.
//   the rest     the bytes the client sends; then end of stream.
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/logging.h>

#include "dougong/rpc/meta.pb.h"
#include "echo.pb.h"
#include "rpc/json_codec.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Must match http_session.cpp and ServerOptions::max_frame_size's default
// (include/dougong/rpc/server.h).
constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kBodyLimit = 64u << 20;

// A SyncReadStream over the fuzz input: returns the configured chunk sizes,
// then end of file.
class ChunkedStream {
 public:
  ChunkedStream(std::string_view data, const uint8_t* sizes, size_t k) : data_(data), sizes_(sizes), k_(k) {}

  size_t NextChunk() {
    size_t left = data_.size() - pos_;
    if (k_ == 0) return left;
    uint8_t b = sizes_[index_++ % k_];
    return std::min(left, b < 0x80 ? size_t{b} + 1 : size_t{b & 0x7fu} * 1024 + 1);
  }
  std::string_view Take(size_t n) {
    auto s = data_.substr(pos_, n);
    pos_ += s.size();
    return s;
  }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    if (pos_ == data_.size()) {
      ec = asio::error::eof;
      return 0;
    }
    size_t want = std::min(NextChunk(), asio::buffer_size(buffers));
    auto chunk = Take(want);
    return asio::buffer_copy(buffers, asio::buffer(chunk.data(), chunk.size()));
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::string_view data_;
  const uint8_t* sizes_;
  size_t k_;
  size_t pos_ = 0;
  size_t index_ = 0;
};

static_assert(beast::is_sync_read_stream<ChunkedStream>::value);

void TryJson(const std::string& body, google::protobuf::Message* message) {
  if (!dougong::rpc::JsonToMessage(body, message).ok()) return;
  std::string json;
  (void)dougong::rpc::MessageToJson(*message, &json);
  (void)dougong::rpc::MessageToJson(*message, &json, /*pretty=*/true);
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8; that is expected here.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t k = data[0] & 0x0f;
  if (size < 1 + k) return 0;
  ChunkedStream stream(std::string_view(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k), data + 1, k);

  // HttpSession::Start: the sniffed bytes go into the buffer first.
  beast::flat_buffer buffer;
  std::string_view initial = stream.Take(stream.NextChunk());
  auto space = buffer.prepare(initial.size());
  asio::buffer_copy(space, asio::buffer(initial.data(), initial.size()));
  buffer.commit(initial.size());

  // HttpSession::Run: one parser per request while the connection is kept.
  for (int requests = 0; requests < 64; ++requests) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    boost::system::error_code ec;
    http::read(stream, buffer, parser, ec);  // same read loop as http::async_read
    if (ec) break;
    http::request<http::string_body> req = parser.release();

    // What Handle() looks at.
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    (void)path;
    for (const auto& field : req) {
      std::string name(field.name_string());
      std::string value(field.value());
      (void)name;
      (void)value;
    }

    google::protobuf::Struct as_struct;
    TryJson(req.body(), &as_struct);
    dougong::example::EchoRequest as_echo;
    TryJson(req.body(), &as_echo);
    dougong::rpc::wire::RpcMeta as_meta;
    TryJson(req.body(), &as_meta);

    if (!req.keep_alive()) break;
  }
  return 0;
}
