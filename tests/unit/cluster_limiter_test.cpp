// Concurrency limiter, token-bucket rate limiter with warm-up, per-key
// limiter maps and the retry budget, driven by a manual clock.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dougong/cluster/concurrency_limiter.h"
#include "dougong/cluster/keyed_limiters.h"
#include "dougong/cluster/rate_limiter.h"
#include "dougong/cluster/retry_budget.h"

namespace dougong::cluster {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kStart = 1'000'000'000'000;

// --- concurrency limiter ---

TEST(ConcurrencyLimiter, RejectsOverTheLimitAndReleasesOnDestruction) {
  ConcurrencyLimiter limiter(2);
  ConcurrencyPermit a = limiter.TryAcquire();
  EXPECT_TRUE(a);
  {
    ConcurrencyPermit b = limiter.TryAcquire();
    EXPECT_TRUE(b);
    EXPECT_FALSE(limiter.TryAcquire());
    EXPECT_EQ(limiter.in_flight(), 2u);
  }  // b returns its slot
  EXPECT_EQ(limiter.in_flight(), 1u);
  ConcurrencyPermit c = limiter.TryAcquire();
  EXPECT_TRUE(c);
  EXPECT_EQ(limiter.rejected(), 1u);
  EXPECT_EQ(limiter.admitted(), 3u);

  ConcurrencyPermit moved = std::move(a);  // moving does not release
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_FALSE(limiter.TryAcquire());
  moved.Release();
  moved.Release();  // twice is harmless
  EXPECT_EQ(limiter.in_flight(), 1u);
  c = limiter.TryAcquire();  // assigning over a permit releases the old one
  EXPECT_EQ(limiter.in_flight(), 1u);
}

TEST(ConcurrencyLimiter, ZeroIsUnlimitedAndTheLimitCanChange) {
  ConcurrencyLimiter limiter;
  std::vector<ConcurrencyPermit> permits;
  for (int i = 0; i < 1000; ++i) permits.push_back(limiter.TryAcquire());
  EXPECT_EQ(limiter.in_flight(), 1000u);
  EXPECT_EQ(limiter.rejected(), 0u);
  limiter.SetLimit(999);
  EXPECT_FALSE(limiter.TryAcquire());  // over the new limit until two return
  permits.pop_back();
  EXPECT_FALSE(limiter.TryAcquire());
  permits.pop_back();
  EXPECT_TRUE(limiter.TryAcquire());
}

TEST(ConcurrencyLimiter, ThreadsNeverExceedTheLimit) {
  constexpr size_t kLimit = 3;
  constexpr int kThreads = 6;
  constexpr int kAttempts = 20000;
  ConcurrencyLimiter limiter(kLimit);
  std::atomic<int> holders{0};
  std::atomic<int> most{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kAttempts; ++i) {
        ConcurrencyPermit p = limiter.TryAcquire();
        if (!p) continue;
        // Counted strictly inside the permit's lifetime.
        const int now = holders.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        if (i % 64 == 0) std::this_thread::yield();
        holders.fetch_sub(1);
      }
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), static_cast<int>(kLimit));
  EXPECT_GE(most.load(), 1);
  EXPECT_EQ(limiter.in_flight(), 0u);
  EXPECT_EQ(limiter.admitted() + limiter.rejected(), static_cast<uint64_t>(kThreads) * kAttempts);
}

// --- rate limiter ---

RateLimiterOptions Rate(double per_second, double burst, std::chrono::nanoseconds warmup = {}) {
  RateLimiterOptions o;
  o.permits_per_second = per_second;
  o.burst = burst;
  o.warmup = warmup;
  return o;
}

// Takes single permits while the limiter gives them: what the bucket holds now.
int TakeAll(RateLimiter& limiter) {
  int n = 0;
  while (limiter.TryAcquire()) ++n;
  return n;
}

// Every `step` for `duration`, takes what the limiter gives; returns the total.
int Drive(RateLimiter& limiter, ManualClock& clock, std::chrono::nanoseconds duration,
          std::chrono::nanoseconds step = milliseconds(1)) {
  int admitted = 0;
  for (std::chrono::nanoseconds t{0}; t < duration; t += step) {
    admitted += TakeAll(limiter);  // everything the bucket allows at this instant
    clock.Advance(step);
  }
  return admitted;
}

TEST(RateLimiter, AdmitsRateTimesTimeWithinOneBucket) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(100, 10), clock);
  const int admitted = Drive(limiter, clock, seconds(10));
  // A full bucket at the start, then the rate: 10 + 100 * 10 s, give or
  // take the permit on the last tick's edge.
  EXPECT_GE(admitted, 100 * 10 - 1);
  EXPECT_LE(admitted, 100 * 10 + 10 + 1);
  EXPECT_NEAR(admitted, 1010, 1);
  EXPECT_EQ(limiter.admitted(), static_cast<uint64_t>(admitted));
}

TEST(RateLimiter, FractionalRateOverTime) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(2.5, 1), clock);
  EXPECT_NEAR(Drive(limiter, clock, seconds(10), milliseconds(7)), 25, 1);
}

TEST(RateLimiter, BurstAfterIdlenessIsTheBucketSize) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(50, 20), clock);
  EXPECT_EQ(TakeAll(limiter), 20);
  clock.Advance(milliseconds(100));  // refills 5
  EXPECT_EQ(TakeAll(limiter), 5);
  clock.Advance(seconds(60));  // a long idle refills to the cap, no more
  EXPECT_EQ(TakeAll(limiter), 20);
}

TEST(RateLimiter, TryAcquireManyIsAllOrNothing) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(10, 10), clock);
  EXPECT_FALSE(limiter.TryAcquire(11));  // more than the bucket: never
  EXPECT_TRUE(limiter.TryAcquire(7));
  EXPECT_FALSE(limiter.TryAcquire(4));  // only 3 left: nothing taken
  EXPECT_TRUE(limiter.TryAcquire(3));
  EXPECT_FALSE(limiter.TryAcquire(1));
  clock.Advance(milliseconds(400));
  EXPECT_TRUE(limiter.TryAcquire(4));
  EXPECT_EQ(limiter.admitted(), 14u);
  EXPECT_EQ(limiter.rejected(), 3u);
}

TEST(RateLimiter, DefaultBurstIsOneSecond) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(30, 0), clock);
  EXPECT_EQ(limiter.options().burst, 30);
  EXPECT_EQ(TakeAll(limiter), 30);
}

TEST(RateLimiter, WarmUpStartsAtAThirdAndReachesTheFullRate) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(100, 1, seconds(5)), clock);
  // Guava's figures: threshold 250 stored permits, max 500; draining the
  // cold 250 takes the 5 s warm-up, the other 250 go at the full rate.
  EXPECT_DOUBLE_EQ(limiter.stored_permits(), 500);
  // Polled finely: with a bucket of one permit, the time between a permit
  // falling due and the next poll is lost (and counts as idleness).
  std::vector<int> per_second;
  for (int s = 0; s < 10; ++s) per_second.push_back(Drive(limiter, clock, seconds(1), microseconds(10)));
  // Cold: a permit costs 3 intervals (rate / 3 = 33.3/s), getting cheaper.
  EXPECT_GE(per_second[0], 33);
  EXPECT_LT(per_second[0], 40);
  for (int s = 1; s < 5; ++s) EXPECT_GT(per_second[s], per_second[s - 1]) << s;
  for (int s = 6; s < 10; ++s) EXPECT_NEAR(per_second[s], 100, 1) << s;
  int total = 0;
  for (int n : per_second) total += n;
  EXPECT_NEAR(total, 250 + 5 * 100, 2);  // vs about 1000 without warm-up
}

TEST(RateLimiter, IdlenessCoolsItDownAgain) {
  ManualClock clock(kStart);
  RateLimiter limiter(Rate(100, 1, seconds(5)), clock);
  Drive(limiter, clock, seconds(10));
  EXPECT_NEAR(Drive(limiter, clock, seconds(1)), 100, 1);  // warm
  clock.Advance(seconds(6));  // a warm-up period idle, once the last permit's debt is paid: stone cold
  EXPECT_TRUE(limiter.TryAcquire());
  EXPECT_NEAR(limiter.stored_permits(), 499, 1e-6);
  EXPECT_LT(Drive(limiter, clock, seconds(1)), 40);
}

TEST(RateLimiter, BadOptionsAreReportedAndReplaced) {
  RateLimiterOptions o;
  o.permits_per_second = 0;
  EXPECT_EQ(o.Validate().code(), Code::kInvalidArgument);
  o = {};
  o.cold_factor = 0.5;
  EXPECT_EQ(o.Validate().code(), Code::kInvalidArgument);
  o = {};
  o.burst = -1;
  EXPECT_EQ(o.Validate().code(), Code::kInvalidArgument);
  ManualClock clock(kStart);
  o.permits_per_second = std::nan("");
  RateLimiter limiter(o, clock);
  EXPECT_EQ(limiter.options().permits_per_second, 100);
  EXPECT_TRUE(limiter.TryAcquire());
}

// --- per-key maps ---

TEST(KeyedLimiters, OneRateLimiterPerCallerInABoundedMap) {
  ManualClock clock(kStart);
  KeyedLimiters<RateLimiter> per_caller(3, [&] { return std::make_shared<RateLimiter>(Rate(1, 2), clock); });
  EXPECT_TRUE(per_caller.Get("alice")->TryAcquire(2));
  EXPECT_FALSE(per_caller.Get("alice")->TryAcquire());
  EXPECT_TRUE(per_caller.Get("bob")->TryAcquire());  // bob has his own bucket
  per_caller.Get("carol");
  EXPECT_EQ(per_caller.size(), 3u);
  per_caller.Get("alice");  // alice is now the most recent; bob the least
  per_caller.Get("dave");   // full: bob is forgotten
  EXPECT_EQ(per_caller.size(), 3u);
  EXPECT_EQ(per_caller.evictions(), 1u);
  EXPECT_FALSE(per_caller.Get("alice")->TryAcquire());  // alice was kept, still empty
  EXPECT_TRUE(per_caller.Get("bob")->TryAcquire(2));    // bob starts again with a full bucket
  EXPECT_EQ(per_caller.evictions(), 2u);                 // and carol made room for him
}

TEST(KeyedLimiters, PerMethodConcurrencyLimiterOutlivesEviction) {
  KeyedLimiters<ConcurrencyLimiter> per_method(1, [] { return std::make_shared<ConcurrencyLimiter>(1); });
  std::shared_ptr<ConcurrencyLimiter> echo = per_method.Get("pkg.Echo/Say");
  ConcurrencyPermit permit = echo->TryAcquire();
  ASSERT_TRUE(permit);
  EXPECT_FALSE(per_method.Get("pkg.Echo/Say")->TryAcquire());
  per_method.Get("pkg.Echo/Shout");  // evicts Say's limiter from the map...
  EXPECT_EQ(echo->in_flight(), 1u);  // ...which lives on for the permit
  permit.Release();
  EXPECT_EQ(echo->in_flight(), 0u);
  EXPECT_NE(per_method.Get("pkg.Echo/Say"), echo);
}

// --- retry budget ---

TEST(RetryBudget, DefaultsAreFinagle) {
  const RetryBudgetOptions o;
  EXPECT_EQ(o.ttl, seconds(10));
  EXPECT_EQ(o.retry_ratio, 0.2);
  EXPECT_EQ(o.min_retries_per_second, 10);
}

// No reserve: retries come from the ratio alone.
RetryBudgetOptions RatioOnly() {
  RetryBudgetOptions o;
  o.min_retries_per_second = 0;
  return o;
}

TEST(RetryBudget, CapsRetriesAtTheRatio) {
  ManualClock clock(kStart);
  RetryBudget budget(RatioOnly(), clock);
  for (int i = 0; i < 1000; ++i) budget.OnRequest();
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += budget.TryRetry() ? 1 : 0;
  EXPECT_EQ(allowed, 200);
  const RetryBudgetSnapshot s = budget.Snapshot();
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.retries, 200u);
  EXPECT_EQ(s.balance, 0u);
  EXPECT_EQ(s.refused, 800u);
  budget.OnRequest();
  EXPECT_FALSE(budget.TryRetry());  // 0.2 * 1001 = 200.2
  for (int i = 0; i < 4; ++i) budget.OnRequest();
  EXPECT_TRUE(budget.TryRetry());  // 0.2 * 1005 = 201
  EXPECT_FALSE(budget.TryRetry());
}

TEST(RetryBudget, MinimumRetriesWithoutTraffic) {
  ManualClock clock(kStart);
  RetryBudget budget({}, clock);  // 10 per second over 10 s
  EXPECT_EQ(budget.Snapshot().balance, 100u);
  int allowed = 0;
  for (int i = 0; i < 500; ++i) allowed += budget.TryRetry() ? 1 : 0;
  EXPECT_EQ(allowed, 100);
}

TEST(RetryBudget, DepositsExpireAfterTheTtl) {
  ManualClock clock(kStart);
  RetryBudget budget(RatioOnly(), clock);
  for (int i = 0; i < 100; ++i) budget.OnRequest();
  clock.Advance(seconds(9));
  EXPECT_EQ(budget.Snapshot().balance, 20u);
  clock.Advance(seconds(1));
  EXPECT_EQ(budget.Snapshot().requests, 0u);
  EXPECT_FALSE(budget.TryRetry());
  for (int i = 0; i < 50; ++i) budget.OnRequest();
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += budget.TryRetry() ? 1 : 0;
  EXPECT_EQ(allowed, 10);
}

TEST(RetryBudget, RetryStormStaysWithinTheBudget) {
  ManualClock clock(kStart);
  RetryBudget budget({}, clock);
  // 60 s of a dead dependency: 200 requests per second, each retried up to
  // 3 times, every attempt failing.
  uint64_t requests = 0;
  uint64_t retries = 0;
  for (int ms = 0; ms < 60'000; ms += 5) {
    budget.OnRequest();
    ++requests;
    for (int attempt = 0; attempt < 3 && budget.TryRetry(); ++attempt) ++retries;
    clock.Advance(milliseconds(5));
  }
  // Per 10 s window at most 0.2 * 2000 + 100 = 500 retries; over 60 s no
  // more than 6 windows' worth, far from the 3x of unbudgeted retries.
  EXPECT_LE(retries, 6u * 500u);
  EXPECT_GE(retries, 5u * 500u);  // and the budget is actually spent
  EXPECT_LT(retries, requests);
  const RetryBudgetSnapshot s = budget.Snapshot();
  EXPECT_LE(s.retries, static_cast<uint64_t>(0.2 * static_cast<double>(s.requests) + 100));
}

}  // namespace
}  // namespace dougong::cluster
