#include "net/io_pool.h"

#include <future>

#include <boost/asio/post.hpp>

#include "base/thread_name.h"

namespace dougong::net {

int DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void RunAndWait(boost::asio::io_context& io, const std::function<void()>& fn) {
  if (io.get_executor().running_in_this_thread()) {
    fn();
    return;
  }
  std::promise<void> done;
  boost::asio::post(io, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

IoPool::IoPool(int threads) {
  if (threads <= 0) threads = DefaultThreads();
  for (int i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
  }
}

IoPool::~IoPool() { Stop(); }

void IoPool::Start() {
  if (started_) return;
  started_ = true;
  for (auto& ctx : contexts_) {
    guards_.emplace_back(ctx->get_executor());
    threads_.emplace_back([c = ctx.get(), i = threads_.size()] {
      SetThreadName("dg-io-" + std::to_string(i));
      c->run();
    });
  }
}

void IoPool::Stop() {
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

boost::asio::io_context& IoPool::Next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace dougong::net
