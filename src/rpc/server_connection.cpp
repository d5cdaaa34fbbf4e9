// The server side of one native-protocol connection. Everything here runs on
// the connection's I/O thread, so its state needs no locks.
#include <unordered_map>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "dougong/rpc/meta.pb.h"
#include "rpc/compression.h"
#include "rpc/frame.h"
#include "rpc/frame_writer.h"
#include "rpc/server_impl.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace dougong::rpc {
namespace {

using CallPtr = Server::Impl::CallPtr;
using Clock = std::chrono::steady_clock;

std::string PeerOf(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                              : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

class ServerConnection : public ConnectionBase, public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(Server::Impl* server, tcp::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        peer_(PeerOf(socket_)),
        reader_(server->options.max_frame_size),
        idle_timer_(socket_.get_executor()),
        last_frame_(Clock::now()),
        writer_(socket_) {
    writer_.set_on_error([this](boost::system::error_code) { Close(); });
    writer_.set_on_drained([this] {
      if (close_after_flush_) Close();
    });
  }

  void Start() {
    ArmIdleTimer();
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->Run(); }, asio::detached);
  }

  void GoAway() override {
    if (closed_ || going_away_) return;
    going_away_ = true;
    wire::RpcMeta meta;
    meta.set_status_code(static_cast<int>(Code::kUnavailable));
    meta.set_status_message("server is stopping");
    meta.set_last_correlation_id(max_correlation_id_);
    Enqueue(BuildControlFrame(FrameType::kGoAway, &meta));
    if (calls_.empty()) close_after_flush_ = true;
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    writer_.Stop();
    for (auto& [id, call] : calls_) call->Cancel();
    calls_.clear();
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    idle_timer_.cancel();
    server_->RemoveConnection(this);
  }

  asio::any_io_executor executor() override { return socket_.get_executor(); }

 private:
  asio::awaitable<void> Run() {
    boost::system::error_code ec;
    // Sniff the protocol from the first bytes.
    while (reader_.buffered() < 2 && LooksLikeNativeFrame(reader_.buffered_bytes())) {
      auto space = reader_.WritableSpace();
      size_t n = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed_) {
        Close();
        co_return;
      }
      reader_.Commit(n);
    }
    if (!LooksLikeNativeFrame(reader_.buffered_bytes())) {
      if (!server_->options.enable_http) {
        server_->protocol_errors.fetch_add(1, std::memory_order_relaxed);
        Close();
        co_return;
      }
      // Not ours: hand the socket and the bytes read so far to HTTP.
      idle_timer_.cancel();
      closed_ = true;
      server_->RemoveConnection(this);
      StartHttpSession(server_, std::move(socket_), std::string(reader_.buffered_bytes()), peer_);
      co_return;
    }
    Frame frame;
    Status error;
    while (!closed_) {
      FrameReader::Result r;
      while ((r = reader_.Next(&frame, &error)) == FrameReader::Result::kFrame) {
        last_frame_ = Clock::now();
        HandleFrame(frame);
        frame = Frame();
        if (closed_ || stop_reading_) co_return;
      }
      if (r == FrameReader::Result::kError) {
        ProtocolError(std::move(error));
        co_return;
      }
      auto space = reader_.WritableSpace();
      size_t n = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed_) break;
      reader_.Commit(n);
    }
    Close();
  }

  // Tells the client why (go-away with the status), then closes.
  void ProtocolError(Status st) {
    server_->protocol_errors.fetch_add(1, std::memory_order_relaxed);
    wire::RpcMeta meta;
    meta.set_status_code(static_cast<int>(st.code()));
    meta.set_status_message(st.message());
    meta.set_last_correlation_id(max_correlation_id_);
    Enqueue(BuildControlFrame(FrameType::kGoAway, &meta));
    close_after_flush_ = true;
    stop_reading_ = true;
    // Stop reading: nothing more from this peer is trusted.
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_receive, ec);
  }

  void HandleFrame(Frame& frame) {
    switch (frame.header.type) {
      case FrameType::kRequest:
        HandleRequest(frame);
        return;
      case FrameType::kCancel:
        HandleCancel(frame);
        return;
      case FrameType::kPing:
        Enqueue(BuildControlFrame(FrameType::kPong, nullptr));
        return;
      case FrameType::kPong:
      case FrameType::kGoAway:
        return;
      case FrameType::kResponse:
        ProtocolError(InvalidArgument("clients must not send response frames"));
        return;
    }
  }

  void HandleCancel(const Frame& frame) {
    wire::RpcMeta meta;
    if (!meta.ParseFromArray(frame.meta.data(), static_cast<int>(frame.meta.size()))) {
      ProtocolError(InvalidArgument("malformed meta in cancel frame"));
      return;
    }
    auto it = calls_.find(meta.correlation_id());
    if (it == calls_.end()) return;  // already answered
    it->second->Cancel(CodeFromInt(meta.status_code()));
    calls_.erase(it);
  }

  void HandleRequest(const Frame& frame) {
    if (!meta_.ParseFromArray(frame.meta.data(), static_cast<int>(frame.meta.size()))) {
      ProtocolError(InvalidArgument("malformed meta in request frame"));
      return;
    }
    uint64_t id = meta_.correlation_id();
    if (calls_.count(id)) {
      ProtocolError(InvalidArgument(fmt::format("correlation id {} is already in flight", id)));
      return;
    }
    if (id > max_correlation_id_) max_correlation_id_ = id;
    MethodEntry* method = server_->FindMethod(meta_.service(), meta_.method());
    if (!method) {
      SendError(id, Unimplemented(fmt::format("unknown method {}/{}", meta_.service(), meta_.method())));
      return;
    }
    if (!IsValidCompression(meta_.compression())) {
      server_->RecordRejected(method, Code::kInvalidArgument);
      SendError(id, InvalidArgument(fmt::format("unknown compression {}", meta_.compression())));
      return;
    }
    auto call = std::make_shared<detail::ServerCall>(method, shared_from_this(), peer_);
    if (Status st = ParseBody(frame, meta_.compression(), server_->options.max_frame_size, call->request());
        !st.ok()) {
      server_->RecordRejected(method, st.code());
      SendError(id, std::move(st));
      return;
    }
    call->set_correlation_id(id);
    if (meta_.timeout_us() && meta_.timeout_us() < uint64_t{detail::ServerCall::kMaxTimeoutMicros})
      call->set_deadline_after(std::chrono::microseconds(meta_.timeout_us()));
    if (meta_.has_trace()) {
      const auto& t = meta_.trace();
      call->set_trace({t.trace_id_high(), t.trace_id(), t.span_id(), t.parent_span_id(), t.sampled()});
    }
    auto& md = call->mutable_request_metadata();
    md.reserve(meta_.metadata_size());
    for (const auto& kv : meta_.metadata()) md.emplace_back(kv.key(), kv.value());
    // Admission after the metadata: hooks decide on it.
    AdmissionInfo info{method->def.service, method->def.method, peer_, md};
    if (Status st = server_->Admit(method, info); !st.ok()) {
      SendError(id, std::move(st));
      return;
    }
    call->set_request_attachment(frame.attachment);
    call->set_response_compression(static_cast<Compression>(meta_.compression()));
    calls_.emplace(id, call);
    server_->Dispatch(call, socket_.get_executor(),
                      [self = shared_from_this()](const CallPtr& c, Status st) { self->OnCallDone(c, std::move(st)); });
  }

  void OnCallDone(const CallPtr& call, Status st) {
    if (closed_) return;
    uint64_t id = call->ctx().correlation_id();
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second != call) return;  // cancelled by the client
    calls_.erase(it);
    out_meta_.Clear();
    out_meta_.set_correlation_id(id);
    ServerContext& ctx = call->ctx();
    for (const auto& [k, v] : ctx.response_metadata()) {
      auto* kv = out_meta_.add_metadata();
      kv->set_key(k);
      kv->set_value(v);
    }
    OutgoingFrame out;
    if (st.ok()) {
      out_meta_.set_compression(static_cast<int>(ctx.response_compression()));
      Status built = BuildFrame(FrameType::kResponse, out_meta_, call->response(), ctx.response_attachment(),
                                server_->options.max_frame_size, &out);
      if (!built.ok()) st = Status(Code::kResourceExhausted, "response too large: " + built.message());
    }
    if (!st.ok()) {
      out_meta_.set_compression(0);
      out_meta_.set_status_code(static_cast<int>(st.code()));
      out_meta_.set_status_message(st.message());
      (void)BuildFrame(FrameType::kResponse, out_meta_, nullptr, Bytes(), SIZE_MAX, &out);
    }
    Enqueue(std::move(out));
    if (going_away_ && calls_.empty()) close_after_flush_ = true;
  }

  void SendError(uint64_t id, Status st) {
    wire::RpcMeta meta;
    meta.set_correlation_id(id);
    meta.set_status_code(static_cast<int>(st.code()));
    meta.set_status_message(st.message());
    OutgoingFrame out;
    (void)BuildFrame(FrameType::kResponse, meta, nullptr, Bytes(), SIZE_MAX, &out);
    Enqueue(std::move(out));
  }

  void Enqueue(OutgoingFrame frame) {
    if (!closed_) writer_.Enqueue(std::move(frame), shared_from_this());
  }

  void ArmIdleTimer() {
    auto timeout = server_->options.idle_timeout;
    if (timeout.count() <= 0 || closed_) return;
    auto due = last_frame_ + timeout;
    if (due <= Clock::now()) due = Clock::now() + timeout;
    idle_timer_.expires_at(due);
    idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      auto timeout = self->server_->options.idle_timeout;
      bool idle = Clock::now() - self->last_frame_ >= timeout;
      // Idle means: no complete frame for the timeout, and either nothing in
      // flight or a frame left unfinished.
      if (idle && (self->calls_.empty() || self->reader_.buffered() > 0)) {
        self->Close();
        return;
      }
      self->ArmIdleTimer();
    });
  }

  Server::Impl* server_;
  tcp::socket socket_;
  std::string peer_;
  FrameReader reader_;
  asio::steady_timer idle_timer_;
  Clock::time_point last_frame_;
  std::unordered_map<uint64_t, CallPtr> calls_;
  FrameWriter writer_;
  wire::RpcMeta meta_;      // reused for every request
  wire::RpcMeta out_meta_;  // reused for every response
  uint64_t max_correlation_id_ = 0;
  bool closed_ = false;
  bool going_away_ = false;
  bool close_after_flush_ = false;
  bool stop_reading_ = false;
};

}  // namespace

void StartServerConnection(Server::Impl* server, tcp::socket socket) {
  auto conn = std::make_shared<ServerConnection>(server, std::move(socket));
  server->AddConnection(conn);
  conn->Start();
}

}  // namespace dougong::rpc
