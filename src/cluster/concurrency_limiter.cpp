#include "dougong/cluster/concurrency_limiter.h"

namespace dougong::cluster {

ConcurrencyPermit& ConcurrencyPermit::operator=(ConcurrencyPermit&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = other.limiter_;
    other.limiter_ = nullptr;
  }
  return *this;
}

void ConcurrencyPermit::Release() {
  if (limiter_ != nullptr) {
    limiter_->Return();
    limiter_ = nullptr;
  }
}

ConcurrencyPermit ConcurrencyLimiter::TryAcquire() {
  const size_t limit = limit_.load(std::memory_order_relaxed);
  size_t current = in_flight_.load(std::memory_order_relaxed);
  do {
    if (limit != 0 && current >= limit) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return ConcurrencyPermit();
    }
  } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acquire,
                                             std::memory_order_relaxed));
  admitted_.fetch_add(1, std::memory_order_relaxed);
  return ConcurrencyPermit(this);
}

}  // namespace dougong::cluster
