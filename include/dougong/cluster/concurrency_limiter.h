// ConcurrencyLimiter: at most `limit` calls in flight (a counting semaphore
// that never blocks). One per method, or per provider; a caller that gets no
// permit fails fast with RESOURCE_EXHAUSTED instead of queueing.
//
//   ConcurrencyPermit permit = limiter.TryAcquire();
//   if (!permit) return ResourceExhausted("too many calls in flight");
//   ... the call ...   // the permit is returned when it goes out of scope
//
// Lock-free: a compare-and-swap loop on the in-flight count, so the count
// never goes over the limit even for a moment. The limit can change at any
// time (live rules); lowering it below the calls in flight rejects new calls
// until enough permits return.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace dougong::cluster {

class ConcurrencyLimiter;

// Move-only; returns its slot on destruction or Release(). An empty permit
// (rejected, moved from, released) converts to false.
class [[nodiscard]] ConcurrencyPermit {
 public:
  ConcurrencyPermit() = default;
  ConcurrencyPermit(ConcurrencyPermit&& other) noexcept : limiter_(other.limiter_) { other.limiter_ = nullptr; }
  ConcurrencyPermit& operator=(ConcurrencyPermit&& other) noexcept;
  ConcurrencyPermit(const ConcurrencyPermit&) = delete;
  ConcurrencyPermit& operator=(const ConcurrencyPermit&) = delete;
  ~ConcurrencyPermit() { Release(); }

  explicit operator bool() const { return limiter_ != nullptr; }
  void Release();

 private:
  friend class ConcurrencyLimiter;
  explicit ConcurrencyPermit(ConcurrencyLimiter* limiter) : limiter_(limiter) {}
  ConcurrencyLimiter* limiter_ = nullptr;
};

class ConcurrencyLimiter {
 public:
  // 0: unlimited (as ServerOptions::max_concurrency).
  explicit ConcurrencyLimiter(size_t limit = 0) : limit_(limit) {}
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;
  // Permits must not outlive their limiter.
  ~ConcurrencyLimiter() = default;

  ConcurrencyPermit TryAcquire();

  void SetLimit(size_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t admitted() const { return admitted_.load(std::memory_order_relaxed); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  friend class ConcurrencyPermit;
  void Return() { in_flight_.fetch_sub(1, std::memory_order_release); }

  std::atomic<size_t> limit_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace dougong::cluster
