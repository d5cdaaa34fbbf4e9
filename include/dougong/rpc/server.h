// Server: one port, many protocols (the native framed protocol and HTTP/1.1
// with JSON bodies and built-in pages), N I/O threads, a worker pool for
// blocking handlers, limits, and graceful stop.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "dougong/base/status.h"
#include "dougong/rpc/service.h"

namespace dougong::rpc {

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
  // Limits in-flight requests of one method ("package.Service/Method").
  Status SetMethodMaxConcurrency(std::string_view full_method, size_t limit);

  // Binds "host:port" (":port" or "port" for all interfaces; port 0 picks one)
  // and starts serving.
  Status Start(std::string_view address);
  int port() const;

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
