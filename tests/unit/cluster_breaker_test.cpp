// The circuit breaker (Hystrix model) and outlier ejection (Envoy's
// consecutive-5xx model), driven by a manual clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "dougong/cluster/circuit_breaker.h"
#include "dougong/cluster/outlier_detector.h"

namespace dougong::cluster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Starts away from 0 so that no test depends on time zero being special.
constexpr int64_t kStart = 1'000'000'000'000;

void Fail(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) b.OnFailure();
}
void Succeed(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) b.OnSuccess();
}
// Trips a default breaker: 20 failures.
void Trip(CircuitBreaker& b) {
  Fail(b, 20);
  ASSERT_EQ(b.state(), BreakerState::kOpen);
}

TEST(Clock, ManualAdvancesOnlyWhenTold) {
  ManualClock clock(5);
  EXPECT_EQ(clock.NowNanos(), 5);
  clock.Advance(milliseconds(2));
  EXPECT_EQ(clock.NowNanos(), 2'000'005);
  clock.Set(7);
  EXPECT_EQ(clock.NowNanos(), 7);
  const Clock& steady = SteadyClock::Instance();
  const int64_t a = steady.NowNanos();
  EXPECT_LE(a, steady.NowNanos());
}

TEST(CircuitBreaker, DefaultsAreHystrix) {
  const CircuitBreakerOptions o;
  EXPECT_EQ(o.window, seconds(10));
  EXPECT_EQ(o.buckets, 10);
  EXPECT_EQ(o.request_volume_threshold, 20u);
  EXPECT_EQ(o.error_threshold_percent, 50);
  EXPECT_EQ(o.sleep_window, seconds(5));
  EXPECT_EQ(o.half_open_trials, 1);
  EXPECT_TRUE(o.Validate().ok());
}

TEST(CircuitBreaker, DoesNotTripBelowRequestVolume) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Fail(b, 19);  // 100% errors, but 19 < 20 requests
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow());
  b.OnFailure();  // the 20th
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreaker, DoesNotTripBelowErrorPercentage) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Succeed(b, 11);
  Fail(b, 9);  // 20 requests, 45%
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.OnFailure();  // 21 requests, 10 errors: 47.6%
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.OnFailure();  // 22 requests, 11 errors: exactly 50%
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, TripsAtExactlyFiftyPercentOfTwenty) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Fail(b, 10);
  Succeed(b, 9);  // 19 requests: below volume whatever the rate
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.OnSuccess();  // the 20th request is a success, but 10/20 = 50% errors
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.Snapshot().times_opened, 1u);
}

TEST(CircuitBreaker, TimeoutsAndRejectionsAreErrors) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Succeed(b, 10);
  for (int i = 0; i < 5; ++i) b.OnTimeout();
  for (int i = 0; i < 4; ++i) b.OnRejected();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.OnRejected();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  const CircuitBreakerSnapshot s = b.Snapshot();
  EXPECT_EQ(s.successes, 10u);
  EXPECT_EQ(s.timeouts, 5u);
  EXPECT_EQ(s.rejections, 5u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.requests, 20u);
  EXPECT_EQ(s.error_percent, 50);
}

TEST(CircuitBreaker, OpenUntilSleepWindowThenExactlyOneTrial) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Trip(b);
  clock.Advance(seconds(5) - std::chrono::nanoseconds(1));
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  clock.Advance(std::chrono::nanoseconds(1));
  EXPECT_TRUE(b.Allow());  // the trial
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(b.Allow());
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(b.Snapshot().short_circuited, 3u);
}

TEST(CircuitBreaker, TrialSuccessClosesAndClearsTheWindow) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Trip(b);
  clock.Advance(seconds(5));
  ASSERT_TRUE(b.Allow());
  b.OnSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow());
  EXPECT_EQ(b.Snapshot().requests, 0u);
  // The 20 failures are gone: it takes a full volume again to trip.
  Fail(b, 19);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.OnFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, TrialFailureReopensForAnotherSleepWindow) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Trip(b);
  clock.Advance(seconds(5));
  ASSERT_TRUE(b.Allow());
  b.OnTimeout();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow());
  clock.Advance(seconds(4));
  EXPECT_FALSE(b.Allow());
  clock.Advance(seconds(1));
  EXPECT_TRUE(b.Allow());
  b.OnSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.Snapshot().times_opened, 2u);
}

TEST(CircuitBreaker, SeveralTrialsMustAllSucceed) {
  ManualClock clock(kStart);
  CircuitBreakerOptions o;
  o.half_open_trials = 3;
  CircuitBreaker b(o, clock);
  Trip(b);
  clock.Advance(seconds(5));
  EXPECT_TRUE(b.Allow());
  EXPECT_TRUE(b.Allow());
  EXPECT_TRUE(b.Allow());
  EXPECT_FALSE(b.Allow());
  b.OnSuccess();
  b.OnSuccess();
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  b.OnSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreaker, LostTrialIsReplacedAfterASleepWindow) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Trip(b);
  clock.Advance(seconds(5));
  ASSERT_TRUE(b.Allow());  // this trial never reports
  clock.Advance(seconds(4));
  EXPECT_FALSE(b.Allow());
  clock.Advance(seconds(1));
  EXPECT_TRUE(b.Allow());
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreaker, HalfOpenAdmitsOneTrialAcrossThreads) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Trip(b);
  clock.Advance(seconds(5));
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 2000; ++i) allowed += b.Allow() ? 1 : 0;
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1);
  EXPECT_EQ(b.Snapshot().short_circuited, 6u * 2000u - 1u);
}

TEST(CircuitBreaker, OldBucketsRollOutOfTheWindow) {
  ManualClock clock(kStart);  // kStart is a bucket boundary (1 s buckets)
  CircuitBreaker b({}, clock);
  Fail(b, 15);
  clock.Advance(milliseconds(9999));  // still inside the 10 s window
  EXPECT_EQ(b.Snapshot().failures, 15u);
  clock.Advance(milliseconds(1));  // the first bucket leaves
  EXPECT_EQ(b.Snapshot().failures, 0u);
  Fail(b, 15);  // 15 in the window: below the volume, the old 15 do not count
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  // Counts spread over buckets leave one bucket at a time.
  clock.Advance(seconds(5));
  Fail(b, 4);  // 19 requests in the window
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  clock.Advance(seconds(5));  // the 15 leave, the 4 stay
  EXPECT_EQ(b.Snapshot().failures, 4u);
  Fail(b, 15);  // 19 again
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.OnFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, ResultsWhileOpenDecideNothing) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  Trip(b);
  Succeed(b, 100);  // calls that started before the trip
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreaker, ForceOpenAndForceClosed) {
  ManualClock clock(kStart);
  CircuitBreaker b({}, clock);
  b.SetOverride(BreakerOverride::kForceOpen);
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(b.state(), BreakerState::kClosed);  // the real state is untouched
  b.SetOverride(BreakerOverride::kForceClosed);
  Trip(b);  // the state machine keeps running underneath
  EXPECT_TRUE(b.Allow());
  EXPECT_EQ(b.Snapshot().override_mode, BreakerOverride::kForceClosed);
  b.SetOverride(BreakerOverride::kNone);
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(BreakerStateName(b.state()), "OPEN");
  EXPECT_EQ(BreakerOverrideName(BreakerOverride::kForceClosed), "FORCE_CLOSED");
}

TEST(CircuitBreaker, BadOptionsAreReportedAndReplaced) {
  CircuitBreakerOptions o;
  o.buckets = 0;
  EXPECT_EQ(o.Validate().code(), Code::kInvalidArgument);
  o = {};
  o.error_threshold_percent = 101;
  EXPECT_EQ(o.Validate().code(), Code::kInvalidArgument);
  o = {};
  o.half_open_trials = 0;
  EXPECT_EQ(o.Validate().code(), Code::kInvalidArgument);
  ManualClock clock(kStart);
  o.buckets = 0;
  CircuitBreaker b(o, clock);  // must not divide by zero
  EXPECT_EQ(b.options().buckets, 10);
  EXPECT_EQ(b.options().half_open_trials, 1);
  Trip(b);
}

// --- outlier ejection ---

std::vector<std::string> Hosts(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("10.0.0." + std::to_string(i) + ":8000");
  return out;
}

// Reports `n` failures of `host`; true if one of them ejected it.
bool FailHost(OutlierDetector& d, const std::string& host, int n) {
  bool ejected = false;
  for (int i = 0; i < n; ++i) ejected = d.OnFailure(host) || ejected;
  return ejected;
}

TEST(OutlierDetector, EjectsAfterConsecutiveFailuresOnly) {
  ManualClock clock(kStart);
  OutlierDetector d({}, clock);
  const auto hosts = Hosts(10);
  d.SetHosts(hosts);
  EXPECT_FALSE(FailHost(d, hosts[0], 4));
  d.OnSuccess(hosts[0]);  // breaks the streak
  EXPECT_FALSE(FailHost(d, hosts[0], 4));
  EXPECT_FALSE(d.IsEjected(hosts[0]));
  EXPECT_TRUE(d.OnFailure(hosts[0]));  // the 5th in a row
  EXPECT_TRUE(d.IsEjected(hosts[0]));
  EXPECT_EQ(d.AvailableHosts().size(), 9u);
  EXPECT_EQ(d.total_ejections(), 1u);
}

TEST(OutlierDetector, EjectionTimeGrowsWithEachEjectionAndIsCapped) {
  ManualClock clock(kStart);
  OutlierDetectorOptions o;
  o.max_ejection_time = seconds(70);
  o.interval = seconds(1000);  // no decay within this test
  OutlierDetector d(o, clock);
  const auto hosts = Hosts(10);
  d.SetHosts(hosts);
  const std::string& h = hosts[3];
  const seconds expected[] = {seconds(30), seconds(60), seconds(70), seconds(70)};
  for (const seconds duration : expected) {
    ASSERT_TRUE(FailHost(d, h, 5));
    clock.Advance(duration - milliseconds(1));
    EXPECT_TRUE(d.IsEjected(h)) << duration.count();
    clock.Advance(milliseconds(1));
    EXPECT_FALSE(d.IsEjected(h)) << duration.count();
  }
}

TEST(OutlierDetector, MultiplierDecaysWhileHealthy) {
  ManualClock clock(kStart);
  OutlierDetector d({}, clock);  // base 30 s, interval 10 s
  const auto hosts = Hosts(10);
  d.SetHosts(hosts);
  ASSERT_TRUE(FailHost(d, hosts[0], 5));
  clock.Advance(seconds(30));
  ASSERT_TRUE(FailHost(d, hosts[0], 5));  // 2nd: 60 s
  clock.Advance(seconds(60));
  EXPECT_FALSE(d.IsEjected(hosts[0]));
  clock.Advance(seconds(20));  // two intervals back in service: 2 -> 0
  ASSERT_TRUE(FailHost(d, hosts[0], 5));  // judged afresh: 30 s
  clock.Advance(seconds(30));
  EXPECT_FALSE(d.IsEjected(hosts[0]));
}

TEST(OutlierDetector, MaxEjectionPercentCapsEjections) {
  ManualClock clock(kStart);
  OutlierDetector d({}, clock);  // 10%
  const auto hosts = Hosts(10);
  d.SetHosts(hosts);
  ASSERT_TRUE(FailHost(d, hosts[0], 5));
  EXPECT_FALSE(FailHost(d, hosts[1], 5));  // 10% of 10 is 1: no room
  EXPECT_FALSE(d.IsEjected(hosts[1]));
  EXPECT_EQ(d.capped_ejections(), 1u);
  clock.Advance(seconds(30));  // hosts[0] returns; hosts[1] still on its streak
  EXPECT_TRUE(d.OnFailure(hosts[1]));
  EXPECT_FALSE(d.IsEjected(hosts[0]));

  OutlierDetector twenty({}, clock);
  const auto more = Hosts(20);
  twenty.SetHosts(more);
  int ejected = 0;
  for (const auto& h : more) ejected += FailHost(twenty, h, 5) ? 1 : 0;
  EXPECT_EQ(ejected, 2);
  EXPECT_EQ(twenty.AvailableHosts().size(), 18u);
}

TEST(OutlierDetector, NeverEjectsEveryHost) {
  ManualClock clock(kStart);
  OutlierDetectorOptions o;
  o.max_ejection_percent = 99;
  OutlierDetector d(o, clock);
  const auto hosts = Hosts(3);
  d.SetHosts(hosts);
  int ejected = 0;
  for (const auto& h : hosts) ejected += FailHost(d, h, 5) ? 1 : 0;
  EXPECT_EQ(ejected, 2);
  EXPECT_EQ(d.AvailableHosts().size(), 1u);

  OutlierDetector single({}, clock);
  single.SetHosts(Hosts(1));
  EXPECT_FALSE(FailHost(single, Hosts(1)[0], 50));

  o.max_ejection_percent = 100;  // explicitly allowed
  OutlierDetector all(o, clock);
  all.SetHosts(hosts);
  for (const auto& h : hosts) EXPECT_TRUE(FailHost(all, h, 5));
  EXPECT_TRUE(all.AvailableHosts().empty());
}

TEST(OutlierDetector, SetHostsKeepsStateOfRemainingHosts) {
  ManualClock clock(kStart);
  OutlierDetectorOptions o;
  o.max_ejection_percent = 50;
  OutlierDetector d(o, clock);
  auto hosts = Hosts(4);
  d.SetHosts(hosts);
  ASSERT_TRUE(FailHost(d, hosts[0], 5));
  hosts.pop_back();
  d.SetHosts(hosts);
  EXPECT_EQ(d.host_count(), 3u);
  EXPECT_TRUE(d.IsEjected(hosts[0]));
  EXPECT_FALSE(FailHost(d, "10.0.0.3:8000", 5));  // removed: its late results are ignored
  EXPECT_EQ(d.host_count(), 3u);
  const auto snapshot = d.Snapshot();
  const auto it = std::find_if(snapshot.begin(), snapshot.end(),
                               [&](const HostOutlierState& s) { return s.host == hosts[0]; });
  ASSERT_NE(it, snapshot.end());
  EXPECT_TRUE(it->ejected);
  EXPECT_EQ(it->ejection_multiplier, 1u);
  EXPECT_EQ(it->ejected_until_nanos, kStart + 30'000'000'000);
}

}  // namespace
}  // namespace dougong::cluster
