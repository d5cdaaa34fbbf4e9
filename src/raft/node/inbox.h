// Inbox: what other threads hand to a RaftNode's loop thread (messages
// from peers, requests, transport reports), as closures run on that thread.
// The core is touched by the loop thread only, so it needs no lock; this
// queue is the only shared structure. Every task runs exactly once: with
// `live` true on the loop thread, or with false once the inbox is closed
// (queued ones by whoever closed it, later ones at once by the poster), so a
// request's callback always learns its fate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace dougong::raft::node {

class Inbox {
 public:
  using Task = std::function<void(bool live)>;
  using Clock = std::chrono::steady_clock;

  // False if the inbox is closed (and `task` already ran with live = false).
  bool Post(Task task) {
    {
      std::lock_guard lock(mu_);
      if (!closed_) {
        tasks_.push_back(std::move(task));
        cv_.notify_one();
        return true;
      }
    }
    task(false);
    return false;
  }

  // Waits until a task is queued, `deadline` passes or the inbox closes;
  // moves the queued tasks to *out. False once closed.
  bool Wait(Clock::time_point deadline, std::vector<Task>* out) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return closed_ || !tasks_.empty(); });
    if (closed_) return false;
    out->swap(tasks_);
    return true;
  }

  // Returns what was queued; the caller runs it with live = false once the
  // loop thread is gone.
  std::vector<Task> Close() {
    std::vector<Task> dropped;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      dropped.swap(tasks_);
    }
    cv_.notify_all();
    return dropped;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> tasks_;
  bool closed_ = false;
};

}  // namespace dougong::raft::node
