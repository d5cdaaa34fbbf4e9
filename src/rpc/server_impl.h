// Internals of Server shared by its protocol front ends (native frames and
// HTTP): the method table, limits, statistics and dispatch of calls.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <google/protobuf/message.h>

#include "base/latency_recorder.h"
#include "dougong/rpc/server.h"
#include "net/io_pool.h"

namespace dougong::rpc {

struct MethodStats {
  std::atomic<uint64_t> inflight{0};
  std::array<std::atomic<uint64_t>, kNumCodes> by_code{};
  LatencyRecorder latency;
};

struct MethodEntry {
  MethodDef def;
  std::string full_name;  // "package.Service/Method"
  size_t max_concurrency = 0;
  MethodStats stats;
};

namespace detail {

class InProcessCall;

// One call in progress: its context, messages and cancellation signal. Owned
// by a shared_ptr held by the connection (for cancel) and by the handler.
class ServerCall {
 public:
  using Clock = ServerContext::Clock;

  ServerCall(MethodEntry* method, std::shared_ptr<void> connection, std::string_view peer);

  ServerContext& ctx() { return ctx_; }
  MethodEntry* method() const { return method_; }
  google::protobuf::Message* request() { return request_.get(); }
  google::protobuf::Message* response() { return response_.get(); }
  Clock::time_point start_time() const { return start_; }

  // Timeouts beyond ~30 years mean "no deadline" (and cannot overflow).
  void set_deadline_after(std::chrono::microseconds timeout) {
    if (timeout.count() > 0 && timeout.count() < kMaxTimeoutMicros) ctx_.deadline_ = start_ + timeout;
  }
  static constexpr int64_t kMaxTimeoutMicros = int64_t{1} << 50;
  void set_correlation_id(uint64_t id) { ctx_.correlation_id_ = id; }
  void set_trace(const TraceContext& t) { ctx_.trace_ = t; }
  void set_request_attachment(Bytes b) { ctx_.request_attachment_ = std::move(b); }
  Metadata& mutable_request_metadata() { return ctx_.request_metadata_; }
  void set_response_compression(Compression c) { ctx_.response_compression_ = c; }

  // Marks the call cancelled and, for a coroutine handler, emits terminal
  // cancellation on its slot. Call on the connection's I/O thread.
  void Cancel(Code reason = Code::kCancelled);
  // Why the client gave up: CANCELLED, or DEADLINE_EXCEEDED when its
  // deadline passed (the reason travels in the cancel frame).
  Code cancel_reason() const { return cancel_reason_; }
  bool canceled() const { return ctx_.canceled_.load(std::memory_order_acquire); }
  boost::asio::cancellation_signal& cancel_signal() { return cancel_signal_; }

 private:
  ServerContext ctx_;
  MethodEntry* method_;
  std::shared_ptr<void> connection_;  // keeps peer_ and the connection alive
  std::unique_ptr<google::protobuf::Message> request_;
  std::unique_ptr<google::protobuf::Message> response_;
  boost::asio::cancellation_signal cancel_signal_;
  Code cancel_reason_ = Code::kCancelled;
  Clock::time_point start_;
};

}  // namespace detail

// Connections register here so Stop() can reach them.
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Called on the connection's own I/O thread.
  virtual void GoAway() = 0;
  virtual void Close() = 0;
  virtual boost::asio::any_io_executor executor() = 0;
};

struct Server::Impl {
  using CallPtr = std::shared_ptr<detail::ServerCall>;
  using Done = std::function<void(const CallPtr&, Status)>;

  explicit Impl(ServerOptions opts);

  // Finds a method by its names; nullptr if not served.
  MethodEntry* FindMethod(std::string_view service, std::string_view method) const;

  // Admission control: checks limits, then the admission hooks, and counts
  // the call in flight. On success the caller must call Dispatch (which
  // releases the slot) or Release.
  Status Admit(MethodEntry* method, const AdmissionInfo& info);
  // Gives back the slot of an admitted call that will not be dispatched.
  void Release(MethodEntry* method);
  // Runs the handler according to its mode, then runs `done` on `executor`
  // with the final status, after statistics are recorded.
  void Dispatch(const CallPtr& call, boost::asio::any_io_executor executor, Done done);
  // Records a call that was refused before it reached a handler.
  void RecordRejected(MethodEntry* method, Code code);

  // In-process calls (in_process_channel.cpp). Register refuses (false)
  // once Stop has aborted them; Abort completes every call still registered
  // with UNAVAILABLE, on its I/O thread (Stop, after the grace period).
  bool RegisterInProcess(const std::shared_ptr<detail::InProcessCall>& call);
  void UnregisterInProcess(detail::InProcessCall* call);
  void AbortInProcessCalls();
  bool NothingInFlight();  // connections closed and in-process calls done

  std::string StatusPage();
  std::string MetricsPage();
  Status AddServiceLocked(Service* service);  // state_mu held
  void AddConnection(const std::shared_ptr<ConnectionBase>& c);
  void RemoveConnection(ConnectionBase* c);
  bool AllConnectionsClosed();

  ServerOptions options;
  std::deque<MethodEntry> methods;
  // service name -> method name -> entry, with heterogeneous lookup.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::unordered_map<std::string, MethodEntry*, Hash, std::equal_to<>>,
                     Hash, std::equal_to<>>
      table;
  std::vector<Service*> services;
  std::unique_ptr<Service> reflection;
  // Set before Start, read-only after.
  std::vector<AdmissionHook> admission_hooks;
  std::vector<std::function<void()>> serving_hooks;
  std::vector<std::function<void()>> stopping_hooks;

  std::unique_ptr<net::IoPool> io;
  std::unique_ptr<boost::asio::thread_pool> workers;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
  std::unique_ptr<boost::asio::steady_timer> accept_retry;
  int port = 0;

  std::atomic<uint64_t> inflight{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<bool> running{false};        // Start succeeded
  std::atomic<bool> stop_started{false};   // the first Stop() runs the stopping hooks
  std::atomic<bool> stopping{false};       // refusing new calls, draining
  std::chrono::steady_clock::time_point started_at;

  std::mutex conn_mu;
  std::map<ConnectionBase*, std::weak_ptr<ConnectionBase>> connections;

  std::mutex inproc_mu;
  std::unordered_map<detail::InProcessCall*, std::shared_ptr<detail::InProcessCall>> inproc_calls;
  bool inproc_aborted = false;  // guarded by inproc_mu
  std::shared_ptr<ChannelInterface> inproc_channel;  // made at the first InProcessChannel()

  std::mutex state_mu;
  std::condition_variable state_cv;
  bool started = false;
  bool stopped = false;

  void AcceptLoop();
  // Binds, listens and starts the I/O threads (Start without the hooks).
  Status Listen(const boost::asio::ip::tcp::endpoint& endpoint, std::string_view address);
  std::string listen_address;  // guarded by state_mu
};

// Native protocol connection; starts by sniffing the first bytes and hands
// the socket to an HTTP session when they are not a native frame.
void StartServerConnection(Server::Impl* server, boost::asio::ip::tcp::socket socket);
// HTTP/1.1 session on a socket whose first bytes were already read.
void StartHttpSession(Server::Impl* server, boost::asio::ip::tcp::socket socket, std::string initial,
                      std::string peer);

// HTTP status for a gRPC status code, as grpc-gateway maps them.
int HttpStatusFor(Code code);

}  // namespace dougong::rpc
