#include "cluster/naming/background_loop.h"

#include <utility>

namespace dougong::cluster::naming {

void BackgroundLoop::Start(std::chrono::milliseconds interval, std::function<void()> fn) {
  fn_ = std::move(fn);
  thread_ = std::thread([this, interval] { Run(interval); });
}

void BackgroundLoop::Wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void BackgroundLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::Run(std::chrono::milliseconds interval) {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, interval, [this] { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
    lock.unlock();
    fn_();
    lock.lock();
  }
}

}  // namespace dougong::cluster::naming
