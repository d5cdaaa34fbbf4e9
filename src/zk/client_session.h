// The ZooKeeper client's session and connection state machine
// (ZkClient::Impl): connecting host after host, the handshake that creates
// or resumes the session, pings and the read timeout, re-arming watches and
// re-sending credentials after a reconnection, expiry and close. Everything
// here runs on one I/O thread; user callbacks go to a second, event thread,
// in the order replies and notifications arrived. docs/zk_client.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dougong/zk/client.h"
#include "net/io_pool.h"
#include "zk/client_connect_string.h"
#include "zk/client_requests.h"
#include "zk/client_watches.h"

namespace dougong::zk {

struct ZkClient::Impl {
  using Clock = std::chrono::steady_clock;

  Impl(client::ConnectString cs, ZkClientOptions options);
  ~Impl();
  void Start();
  // Closes the session and stops the threads; not from the client's threads.
  void Shutdown();
  bool OnOwnThread() const;

  // ---- any thread ----
  void Submit(client::PendingRequest req);
  void AddAuth(std::string scheme, std::string auth, ZkDone cb);
  void Close(ZkDone cb);
  void PostEvent(std::function<void()> fn);
  void AddStateListener(ZkStateListener listener);
  Status WaitConnected(std::chrono::milliseconds timeout);
  const std::string& chroot() const { return cs_.chroot; }

  // ---- I/O thread only ----
  client::WatchRegistry& watches() { return watches_; }
  // Runs `fn` on the I/O thread.
  void PostIo(std::function<void()> fn);

  std::atomic<bool> connected{false};
  std::atomic<int64_t> session_id{0};
  std::atomic<int32_t> negotiated_ms{0};
  std::string connected_host() const;

 private:
  struct Conn;
  boost::asio::io_context& io();
  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<Status> Handshake(std::shared_ptr<Conn> conn, const client::HostPort& hp);
  boost::asio::awaitable<Result<std::string>> ReadPacket(Conn& conn);
  boost::asio::awaitable<void> ReadLoop(std::shared_ptr<Conn> conn);
  boost::asio::awaitable<void> WriteLoop(std::shared_ptr<Conn> conn);
  boost::asio::awaitable<void> Ticker();
  void Send(const std::shared_ptr<Conn>& conn, std::string_view packet);
  void SendNow(client::PendingRequest req);
  void HandlePacket(const std::shared_ptr<Conn>& conn, std::string_view payload);
  void OnConnected(const std::shared_ptr<Conn>& conn, const std::string& host);
  void OnDisconnected();
  void Expire();
  void FinishClose();
  void FailAuthWaiters(int32_t err);
  void SetState(ZkSessionState state);
  std::chrono::milliseconds SessionTimeout() const;
  std::chrono::milliseconds ConnectTimeout() const;

  // The pool first: destroyed last, after everything bound to its contexts.
  // Context 0 is the I/O thread, context 1 the event thread.
  net::IoPool pool_{2};

  client::ConnectString cs_;
  ZkClientOptions options_;

  // I/O thread state.
  client::RequestTracker tracker_;
  client::WatchRegistry watches_;
  std::shared_ptr<Conn> conn_;       // the connected connection
  std::weak_ptr<Conn> handshaking_;  // the one being set up
  std::unique_ptr<boost::asio::steady_timer> backoff_timer_;
  std::string passwd_;
  int64_t last_zxid_ = 0;
  bool ever_connected_ = false;
  bool lost_reported_ = false;
  bool closing_ = false;
  bool terminal_ = false;  // expired or closed
  bool expired_ = false;
  Clock::time_point disconnected_since_;
  Clock::time_point last_recv_;
  Clock::time_point last_send_;
  Clock::time_point close_deadline_;
  Status last_error_;
  struct Auth {
    std::string scheme;
    std::string auth;
    ZkDone waiting;  // AddAuth's callback until the server answers
  };
  std::vector<Auth> auths_;
  std::deque<ZkDone> auth_waiters_;  // one per auth packet in flight
  std::vector<ZkDone> close_waiters_;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ZkStateListener> listeners_;
  std::string host_;
  bool settled_terminal_ = false;  // terminal_, as seen by WaitConnected
  Status wait_error_;
};

}  // namespace dougong::zk
