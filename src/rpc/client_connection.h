// ClientConnection: one native-protocol connection of a Channel, with many
// calls multiplexed on it. Lives on one I/O thread; StartCall may be called
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dougong/rpc/channel.h"
#include "dougong/rpc/meta.pb.h"
#include "rpc/frame.h"
#include "rpc/frame_writer.h"

namespace dougong::rpc {

struct PendingCall {
  using Clock = std::chrono::steady_clock;
  uint64_t id = 0;
  ClientContext* ctx = nullptr;
  google::protobuf::Message* response = nullptr;
  ChannelInterface::Done done;
  Clock::time_point deadline = Clock::time_point::max();
  std::multimap<Clock::time_point, uint64_t>::iterator deadline_it;
};

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  enum class State { kConnecting, kConnected, kDraining, kClosed };
  using Clock = std::chrono::steady_clock;
  // Told whether connecting succeeded (and why not), on the I/O thread.
  using ConnectResult = std::function<void(const Status&)>;

  ClientConnection(boost::asio::io_context& io, std::string host, std::string port, const ChannelOptions& options,
                   bool close_when_idle, ConnectResult on_connect);
  ~ClientConnection();

  // Resolves the host (once per attempt) and connects, with connect_timeout.
  void Connect();
  // New calls may be started on this connection.
  bool usable() const {
    State s = state_.load(std::memory_order_acquire);
    return s == State::kConnecting || s == State::kConnected;
  }
  State state() const { return state_.load(std::memory_order_acquire); }
  uint64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // Registers the call and writes its frame. Any thread.
  void StartCall(std::unique_ptr<PendingCall> call, OutgoingFrame frame);
  // Closes the connection; pending calls fail with `why`. Any thread; waits
  // until done.
  void Shutdown(Status why);

 private:
  void OnConnected();
  void Fail(Status why);  // on the I/O thread
  void RegisterCall(std::unique_ptr<PendingCall> call, OutgoingFrame frame);
  void CancelCall(uint64_t id, Status why, bool tell_server);
  void Complete(std::unique_ptr<PendingCall> call, Status st);
  void HandleFrame(const Frame& frame);
  void HandleResponse(const Frame& frame);
  void HandleGoAway(const Frame& frame);
  void ArmDeadlineTimer();
  void OnDeadlineTimer();
  void ArmHeartbeat();
  void MaybeCloseWhenIdle();
  boost::asio::awaitable<void> ReadLoop();

  boost::asio::io_context& io_;
  std::string host_;
  std::string port_;
  const ChannelOptions options_;
  bool close_when_idle_;
  ConnectResult on_connect_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer deadline_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  FrameWriter writer_;
  FrameReader reader_;
  std::atomic<State> state_{State::kConnecting};
  std::atomic<uint64_t> next_id_{1};
  std::unordered_map<uint64_t, std::unique_ptr<PendingCall>> calls_;
  std::multimap<Clock::time_point, uint64_t> deadlines_;
  Clock::time_point armed_deadline_ = Clock::time_point::max();
  Clock::time_point last_read_ = Clock::now();
  wire::RpcMeta meta_;  // reused for every response
  bool had_call_ = false;
};

}  // namespace dougong::rpc
