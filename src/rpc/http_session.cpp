// HTTP/1.1 on the RPC port: POST /<package.Service>/<Method> with a JSON body
// calls the method (protobuf JSON mapping both ways); GET /health, /status
// and /metrics serve the built-in pages.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "rpc/json_codec.h"
#include "rpc/server_impl.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace dougong::rpc {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kCancelled: return 499;
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
    case Code::kOutOfRange: return 400;
    case Code::kDeadlineExceeded: return 504;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kAborted: return 409;
    case Code::kPermissionDenied: return 403;
    case Code::kResourceExhausted: return 429;
    case Code::kUnimplemented: return 501;
    case Code::kUnavailable: return 503;
    case Code::kUnauthenticated: return 401;
    case Code::kUnknown:
    case Code::kInternal:
    case Code::kDataLoss: return 500;
  }
  return 500;
}

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using CallPtr = Server::Impl::CallPtr;

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
  }
  return out;
}

class HttpSession : public ConnectionBase, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Server::Impl* server, tcp::socket socket, std::string peer)
      : server_(server), stream_(std::move(socket)), peer_(std::move(peer)) {}

  void Start(std::string initial) {
    auto bufs = buffer_.prepare(initial.size());
    asio::buffer_copy(bufs, asio::buffer(initial));
    buffer_.commit(initial.size());
    asio::co_spawn(stream_.get_executor(), [self = shared_from_this()] { return self->Run(); }, asio::detached);
  }

  // Idle sessions close now; a busy one closes after its response.
  void GoAway() override {
    going_away_ = true;
    if (!busy_) Close();
  }
  void Close() override {
    if (closed_) return;
    closed_ = true;
    if (current_) current_->Cancel();
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    server_->RemoveConnection(this);
  }
  asio::any_io_executor executor() override { return stream_.get_executor(); }

 private:
  asio::awaitable<void> Run() {
    boost::system::error_code ec;
    while (!closed_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(64 * 1024);
      parser.body_limit(server_->options.max_frame_size);
      if (server_->options.idle_timeout.count() > 0) stream_.expires_after(server_->options.idle_timeout);
      co_await http::async_read(stream_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::eof &&
            ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
          // Malformed HTTP: say why, then close.
          server_->protocol_errors.fetch_add(1, std::memory_order_relaxed);
          Response res{http::status::bad_request, 11};
          res.set(http::field::content_type, "text/plain");
          res.body() = "bad request: " + ec.message() + "\n";
          res.keep_alive(false);
          res.prepare_payload();
          stream_.expires_after(std::chrono::seconds(5));
          co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
        }
        break;
      }
      stream_.expires_never();
      busy_ = true;
      Request req = parser.release();
      Response res = co_await Handle(req);
      res.version(req.version());
      bool keep_alive = req.keep_alive() && !going_away_ && !server_->stopping.load();
      res.keep_alive(keep_alive);
      res.prepare_payload();
      co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
      busy_ = false;
      if (ec || !keep_alive || going_away_) break;
    }
    Close();
  }

  static Response Text(http::status status, std::string body, std::string_view type = "text/plain; charset=utf-8") {
    Response res{status, 11};
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    return res;
  }

  static Response JsonError(const Status& st) {
    return Text(static_cast<http::status>(HttpStatusFor(st.code())),
                fmt::format("{{\"code\":{},\"error\":\"{}\",\"message\":\"{}\"}}\n", static_cast<int>(st.code()),
                            CodeName(st.code()), JsonEscape(st.message())),
                "application/json");
  }

  asio::awaitable<Response> Handle(const Request& req) {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    if (req.method() == http::verb::get || req.method() == http::verb::head) {
      if (path == "/health") co_return Text(http::status::ok, "OK\n");
      if (path == "/status") co_return Text(http::status::ok, server_->StatusPage());
      if (path == "/metrics")
        co_return Text(http::status::ok, server_->MetricsPage(), "text/plain; version=0.0.4; charset=utf-8");
      if (path == "/") co_return Text(http::status::ok, IndexPage());
    }
    // /<package.Service>/<Method>
    if (path.size() > 1 && path[0] == '/') {
      std::string_view rest = path.substr(1);
      size_t slash = rest.find('/');
      if (slash != std::string_view::npos && slash > 0 && slash + 1 < rest.size() &&
          rest.find('/', slash + 1) == std::string_view::npos) {
        if (req.method() != http::verb::post) {
          Response res = JsonError(Status(Code::kInvalidArgument, "RPC methods are called with POST"));
          res.result(http::status::method_not_allowed);
          res.set(http::field::allow, "POST");
          co_return res;
        }
        co_return co_await CallMethod(req, rest.substr(0, slash), rest.substr(slash + 1));
      }
    }
    co_return Text(http::status::not_found, fmt::format("no page {}\n", path));
  }

  std::string IndexPage() const {
    std::string out = "dougong rpc server\n\npages: /health /status /metrics\n\nmethods (POST JSON):\n";
    for (const auto& m : server_->methods) out += fmt::format("  /{}\n", m.full_name);
    return out;
  }

  asio::awaitable<Response> CallMethod(const Request& req, std::string_view service, std::string_view method_name) {
    MethodEntry* method = server_->FindMethod(service, method_name);
    if (!method) co_return JsonError(Unimplemented(fmt::format("unknown method {}/{}", service, method_name)));
    auto call = std::make_shared<detail::ServerCall>(method, shared_from_this(), peer_);
    if (Status st = JsonToMessage(req.body(), call->request()); !st.ok()) {
      server_->RecordRejected(method, st.code());
      co_return JsonError(st);
    }
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "x-timeout-ms") {
        long long ms = std::strtoll(std::string(field.value()).c_str(), nullptr, 10);
        if (ms > 0 && ms < detail::ServerCall::kMaxTimeoutMicros / 1000)
          call->set_deadline_after(std::chrono::milliseconds(ms));
      } else if (name.starts_with("x-")) {
        call->mutable_request_metadata().emplace_back(std::move(name), std::string(field.value()));
      }
    }
    AdmissionInfo info{method->def.service, method->def.method, peer_, call->ctx().request_metadata()};
    if (Status st = server_->Admit(method, info); !st.ok()) co_return JsonError(st);
    current_ = call;
    Status st = co_await AwaitDispatch(call);
    current_.reset();
    if (!st.ok()) co_return JsonError(st);
    std::string json;
    if (Status jst = MessageToJson(*call->response(), &json); !jst.ok()) co_return JsonError(jst);
    json += '\n';
    Response res = Text(http::status::ok, std::move(json), "application/json");
    for (const auto& [k, v] : call->ctx().response_metadata()) {
      if (!k.empty() && k.find_first_of(" :\r\n") == std::string::npos && v.find_first_of("\r\n") == std::string::npos)
        res.set(k, v);
    }
    co_return res;
  }

  asio::awaitable<Status> AwaitDispatch(const CallPtr& call) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
        [this, call](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          server_->Dispatch(call, stream_.get_executor(),
                            [shared](const CallPtr&, Status st) { std::move (*shared)(std::move(st)); });
        },
        asio::use_awaitable);
  }

  Server::Impl* server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string peer_;
  CallPtr current_;
  bool going_away_ = false;
  bool busy_ = false;  // between reading a request and writing its response
  bool closed_ = false;
};

}  // namespace

void StartHttpSession(Server::Impl* server, tcp::socket socket, std::string initial, std::string peer) {
  auto session = std::make_shared<HttpSession>(server, std::move(socket), std::move(peer));
  server->AddConnection(session);
  session->Start(std::move(initial));
}

}  // namespace dougong::rpc
