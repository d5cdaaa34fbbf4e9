// IoPool: N threads, each running its own io_context. A connection lives on
// one context for its whole life, so its state needs no locks.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace dougong::net {

class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void Start();
  // Stops every context and joins the threads (not from a pool thread).
  void Stop();

  int size() const { return static_cast<int>(contexts_.size()); }
  boost::asio::io_context& at(int i) { return *contexts_[i]; }
  // Round robin over the contexts.
  boost::asio::io_context& Next();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> next_{0};
  bool started_ = false;
};

// Runs `fn` on `io`'s thread and waits for it (runs inline when already
// there). The context must be running.
void RunAndWait(boost::asio::io_context& io, const std::function<void()>& fn);

// Default thread count: the number of cores (at least 1).
int DefaultThreads();

}  // namespace dougong::net
