// Channels: the client side. ChannelInterface is what generated stubs call;
// Channel speaks the native protocol to one host:port. Cluster channels
// (load balancing over many providers) implement the same interface.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/rpc/client_context.h"
#include "dougong/rpc/service.h"
#include "dougong/rpc/types.h"

namespace dougong::rpc {

class ChannelInterface {
 public:
  using Message = google::protobuf::Message;
  using Done = std::function<void(Status)>;
  virtual ~ChannelInterface() = default;

  // Starts a call. `done` runs exactly once, on an I/O thread, after
  // `response` and the context's response fields are filled. `ctx`,
  // `request` and `response` must stay alive until then.
  virtual void CallMethod(const MethodSpec& method, ClientContext* ctx, const Message& request,
                          Message* response, Done done) = 0;

  // Blocking form; must not be called from an I/O thread of this channel.
  Status Call(const MethodSpec& method, ClientContext* ctx, const Message& request,
              Message* response);
  // Coroutine form; resumes on the awaiting coroutine's executor. Cancelling
  // the awaiting operation (cancellation slot) cancels the call.
  Awaitable<Status> CoCall(const MethodSpec& method, ClientContext* ctx, const Message& request,
                           Message* response);
};

// I/O threads that several channels share, e.g. a cluster channel's channels
// to each of its providers. Each connection still lives on one thread, but
// a process does not grow threads per peer, and one thread's turn of the
// event loop batches the writes of all its connections. Destroy it (drop the
// last reference) from a thread that is not one of its own.
class ChannelThreads {
 public:
  static std::shared_ptr<ChannelThreads> Create(int threads);
  ~ChannelThreads();
  ChannelThreads(const ChannelThreads&) = delete;
  ChannelThreads& operator=(const ChannelThreads&) = delete;
  int size() const;

  struct Impl;
  explicit ChannelThreads(std::unique_ptr<Impl> impl);
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct ChannelOptions {
  enum class ConnectionType {
    kSingle,  // one multiplexed connection
    kPooled,  // `pool_size` multiplexed connections, round robin
    kShort,   // a new connection per call
  };
  ConnectionType connection_type = ConnectionType::kSingle;
  int pool_size = 4;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{0};  // default per-call timeout; 0: none
  // Reconnect backoff: initial * multiplier^n, capped, +/- jitter fraction.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10000};
  double backoff_multiplier = 1.6;
  double backoff_jitter = 0.2;
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(30)};
  size_t max_frame_size = 64u << 20;
  int io_threads = 1;  // threads of the channel's own I/O pool
  // When set, the channel runs on these threads instead of a pool of its
  // own (`io_threads` is then ignored).
  std::shared_ptr<ChannelThreads> threads;
};

class Channel : public ChannelInterface {
 public:
  // `target` is "host:port". Connects lazily; the first call waits for the
  // connection up to connect_timeout.
  static Result<std::shared_ptr<Channel>> Create(std::string_view target,
                                                 ChannelOptions options = {});
  ~Channel() override;

  void CallMethod(const MethodSpec& method, ClientContext* ctx, const Message& request,
                  Message* response, Done done) override;

  const std::string& target() const;

  struct Impl;
  explicit Channel(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dougong::rpc
