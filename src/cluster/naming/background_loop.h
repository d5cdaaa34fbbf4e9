// One thread that runs a function every `interval`, or sooner when woken,
// until stopped. The polling backends (file, dns) and the ZooKeeper
// backend's worker run on it; Stop() interrupts a wait at once, so
// destroying a naming service never waits out an interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace dougong::cluster::naming {

class BackgroundLoop {
 public:
  BackgroundLoop() = default;
  ~BackgroundLoop() { Stop(); }
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Runs `fn` after the first wait (the caller already did the first round).
  void Start(std::chrono::milliseconds interval, std::function<void()> fn);
  // Runs `fn` as soon as the current round (if any) ends.
  void Wake();
  // Idempotent; must not be called from `fn`.
  void Stop();

 private:
  void Run(std::chrono::milliseconds interval);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::function<void()> fn_;
  std::thread thread_;
};

}  // namespace dougong::cluster::naming
