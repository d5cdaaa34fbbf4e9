// Server: one port, many protocols (the native framed protocol and HTTP/1.1
// with JSON bodies and built-in pages), N I/O threads, a worker pool for
// blocking handlers, limits, and graceful stop.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/status.h"
#include "dougong/rpc/channel.h"
#include "dougong/rpc/service.h"
#include "dougong/rpc/types.h"

namespace dougong::rpc {

inline const Metadata kNoMetadata;

// What an admission hook knows of a call: it has been parsed and has passed
// the built-in limits, and its handler has not run.
struct AdmissionInfo {
  std::string_view service;  // "package.Service"
  std::string_view method;   // "Method"
  std::string_view peer;     // the client's "ip:port"; "in-process" for InProcessChannel calls
  const Metadata& metadata = kNoMetadata;  // request metadata (HTTP: the x-* headers)
};
// OK admits the call; any other status is the call's answer (counted in the
// method's per-code statistics) and the handler does not run.
using AdmissionHook = std::function<Status(const AdmissionInfo&)>;

struct ServerOptions {
  int io_threads = 0;      // 0: one per core
  int worker_threads = 0;  // blocking handlers; 0: 2 per core, at least 4
  size_t max_connections = 100000;  // beyond it new connections are closed at once
  size_t max_concurrency = 0;       // in-flight requests server-wide; 0: unlimited
  // A connection that completes no frame (or HTTP request) for this long is
  // closed; this also closes connections stuck in the middle of a frame.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  size_t max_frame_size = 64u << 20;  // larger frames are refused and the connection closed
  bool enable_http = true;            // HTTP/JSON and built-in pages on the same port
  bool enable_reflection = true;      // dougong.rpc.Reflection, used by `dougong call`
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The service must outlive the server. Call before Start().
  Status AddService(Service* service);
  // Limits in-flight requests of one method ("package.Service/Method");
  // calls over it are answered RESOURCE_EXHAUSTED at once. 0: unlimited.
  Status SetMethodMaxConcurrency(std::string_view full_method, size_t limit);

  // Hooks; each is added before Start() (FAILED_PRECONDITION after it).
  //
  // Admission hooks run for every call (native, HTTP, in-process) after the
  // built-in checks (stopping, server and method concurrency), in the order
  // added; the first non-OK status refuses the call. They run on an I/O
  // thread (or the in-process caller's thread): quick and non-blocking.
  Status AddAdmissionHook(AdmissionHook hook);
  // Runs at the end of Start(), on its thread, once the port is bound and
  // calls are being served (e.g. register in a registry). Start() returns
  // after the hooks. Not run when Start() fails.
  Status OnServing(std::function<void()> hook);
  // Runs at the beginning of Stop(), on its thread, while the server still
  // serves: before it stops accepting, sends go-away and drains (e.g.
  // deregister, so consumers stop sending before the drain). Run once, also
  // when the destructor stops the server.
  Status OnStopping(std::function<void()> hook);

  // Binds "host:port" (":port" or "port" for all interfaces; port 0 picks one)
  // and starts serving.
  Status Start(std::string_view address);
  int port() const;
  // The bound "ip:port" ("[v6]:port"), e.g. "0.0.0.0:8000"; empty before Start().
  std::string listen_address() const;
  // Started and not yet stopping.
  bool serving() const;
  // The services added with AddService (not the reflection service).
  std::vector<const Service*> services() const;
  bool HasService(std::string_view service) const;

  // A channel to this server's handlers without a socket: calls go through
  // the same admission (stopping, limits, hooks), deadlines, cancellation
  // and per-method statistics as network calls; the peer is "in-process".
  // The request is copied (CopyFrom, no serialization) when its type has the
  // method's descriptor, the response swapped in; other types are serialized
  // and parsed. Before Start() and once stopping, calls fail UNAVAILABLE.
  // The server must outlive the channel. See docs/protocol.md, "In-process
  // calls".
  std::shared_ptr<ChannelInterface> InProcessChannel();

  // Graceful stop: stop accepting, send go-away to native clients, let
  // in-flight requests finish for up to `grace`, then close everything.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Blocks until Stop() has completed.
  void Wait();

  // Text of the built-in pages, also served over HTTP.
  std::string StatusPage() const;
  std::string MetricsPage() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dougong::rpc
