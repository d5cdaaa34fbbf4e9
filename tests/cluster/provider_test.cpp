// ProviderSet snapshots, ProviderStats and warm-up weights.
#include <gtest/gtest.h>

#include <thread>

#include "dougong/cluster/provider.h"
#include "dougong/cluster/warmup.h"
#include "lb_test_util.h"

namespace dougong::cluster {
namespace {

using namespace std::chrono_literals;
using testing::MakeProviders;
using testing::MakeSet;

TEST(ProviderSet, SortsByAddressAndFinds) {
  std::vector<Provider> providers = MakeProviders({1, 2, 3});
  std::swap(providers[0], providers[2]);
  ProviderSetPtr set = MakeSet(providers);
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ((*set)[0].address, "p0:1000");
  EXPECT_EQ((*set)[2].address, "p2:1002");
  EXPECT_EQ(set->Find("p1:1001"), 1u);
  EXPECT_EQ(set->Find("p9:1009"), std::nullopt);
}

TEST(ProviderSet, RefusesBadEntries) {
  std::vector<Provider> dup = MakeProviders({1, 1});
  dup[1].address = dup[0].address;
  Result<ProviderSetPtr> r = ProviderSet::Create(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("duplicate"), std::string::npos);

  std::vector<Provider> empty_address = MakeProviders({1});
  empty_address[0].address.clear();
  EXPECT_FALSE(ProviderSet::Create(empty_address).ok());
  EXPECT_FALSE(ProviderSet::Create(MakeProviders({1, -1})).ok());
  EXPECT_TRUE(ProviderSet::Create({}).ok());
}

TEST(ProviderSet, HostDefaultsToTheAddressHost) {
  EXPECT_EQ(HostOfAddress("10.0.0.1:8080"), "10.0.0.1");
  EXPECT_EQ(HostOfAddress("[::1]:8080"), "::1");
  EXPECT_EQ(HostOfAddress("fe80::1"), "fe80::1");
  EXPECT_EQ(HostOfAddress("box"), "box");
  std::vector<Provider> providers = MakeProviders({1, 1});
  providers[1].host = "named-host";
  ProviderSetPtr set = MakeSet(providers);
  EXPECT_EQ((*set)[0].host, "p0");
  EXPECT_EQ((*set)[1].host, "named-host");
}

TEST(ProviderSet, FingerprintIsTheMembership) {
  std::vector<Provider> providers = MakeProviders({1, 2, 3});
  ProviderSetPtr a = MakeSet(providers);
  std::reverse(providers.begin(), providers.end());
  providers[0].weight = 50;  // weights are not membership
  ProviderSetPtr b = MakeSet(providers);
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  providers.pop_back();
  EXPECT_NE(a->fingerprint(), MakeSet(providers)->fingerprint());
  EXPECT_NE(MakeSet(std::vector<Provider>{})->fingerprint(), a->fingerprint());
}

TEST(ProviderSet, SurvivorsKeepTheirStats) {
  ProviderSetPtr old_set = MakeSet({1, 1, 1});
  old_set->stats(1).OnStart();
  old_set->stats(2).OnStart();
  std::vector<Provider> next = MakeProviders({1, 1, 1, 1});
  next.erase(next.begin() + 2);  // p2 leaves, p3 joins
  ProviderSetPtr new_set = MakeSet(next, old_set.get());
  EXPECT_EQ(new_set->stats(*new_set->Find("p1:1001")).active(), 1);
  EXPECT_EQ(&new_set->stats(*new_set->Find("p1:1001")), &old_set->stats(1));
  EXPECT_EQ(new_set->stats(*new_set->Find("p3:1003")).active(), 0);
}

TEST(ProviderStats, ActiveAndEwmaOfSuccesses) {
  ProviderStats s;
  EXPECT_EQ(s.ewma_latency(), 0ns);
  s.OnStart();
  s.OnStart();
  EXPECT_EQ(s.active(), 2);
  s.OnFinish(10ms, true);  // the first sample is taken as it is
  EXPECT_EQ(s.ewma_latency(), 10ms);
  s.OnFinish(18ms, true);  // 10 + (18 - 10) / 8
  EXPECT_EQ(s.ewma_latency(), 11ms);
  EXPECT_EQ(s.active(), 0);
  s.OnStart();
  s.OnFinish(1ms, false);  // failures do not make a provider look fast
  EXPECT_EQ(s.ewma_latency(), 11ms);
  EXPECT_EQ(s.succeeded(), 2u);
  EXPECT_EQ(s.failed(), 1u);
}

TEST(ProviderStats, ConcurrentUpdatesAddUp) {
  ProviderStats s;
  auto work = [&] {
    for (int i = 0; i < 20000; ++i) {
      s.OnStart();
      s.OnFinish(std::chrono::microseconds(100 + i % 7), i % 10 != 0);
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(s.active(), 0);
  EXPECT_EQ(s.succeeded(), 36000u);
  EXPECT_EQ(s.failed(), 4000u);
  EXPECT_GE(s.ewma_latency(), 100us);
  EXPECT_LE(s.ewma_latency(), 106us);
}

TEST(Warmup, RampsLinearlyToFullWeight) {
  Provider p;
  p.weight = 100;
  p.start_time_ms = 1'000'000;
  p.warmup_ms = 600'000;
  auto at = [&](int64_t uptime_ms) { return WarmupWeight(p, p.start_time_ms + uptime_ms); };
  EXPECT_EQ(at(0), 1);           // at least 1: a starting provider gets a trickle
  EXPECT_EQ(at(5'000), 1);       // 100 * 5 / 600 = 0.83 -> 1
  EXPECT_EQ(at(150'000), 25);
  EXPECT_EQ(at(300'000), 50);
  EXPECT_EQ(at(599'999), 99);
  EXPECT_EQ(at(600'000), 100);
  EXPECT_EQ(at(86'400'000), 100);
  EXPECT_EQ(at(-60'000), 1);  // started "in the future": clock skew
  for (int64_t t = 0; t < 600'000; t += 1'000) EXPECT_LE(at(t), at(t + 1'000));

  Provider unknown_start = p;
  unknown_start.start_time_ms = 0;
  EXPECT_EQ(WarmupWeight(unknown_start, 5), 100);
  Provider no_warmup = p;
  no_warmup.warmup_ms = 0;
  EXPECT_EQ(WarmupWeight(no_warmup, p.start_time_ms), 100);
  Provider drained = p;
  drained.weight = 0;
  EXPECT_EQ(WarmupWeight(drained, p.start_time_ms + 1), 0);
}

TEST(Warmup, DefaultsAreDubbos) {
  Provider p;
  EXPECT_EQ(p.weight, 100);
  EXPECT_EQ(p.warmup_ms, 10 * 60 * 1000);
  EXPECT_GT(SystemClockMs(), int64_t{1'700'000'000'000});
}

// A warming provider gets its ramped share from the weight-based balancers.
TEST(Warmup, BalancersFollowTheRamp) {
  testing::FakeClock clock;
  std::vector<Provider> providers = MakeProviders({100, 100});
  providers[1].start_time_ms = clock.now_ms - 150'000;  // 25% into 10 minutes
  ProviderSetPtr set = MakeSet(providers);
  for (const char* name : {"random", "roundrobin", "leastactive", "shortestresponse"}) {
    SCOPED_TRACE(name);
    auto lb = testing::MakeBalancer(name, clock.Options());
    EXPECT_TRUE(testing::FitsDistribution(testing::Sample(*lb, *set, 20000), {0.8, 0.2}));
  }
  clock.now_ms += 450'000;  // warm now
  auto lb = testing::MakeBalancer("random", clock.Options());
  EXPECT_TRUE(testing::FitsDistribution(testing::Sample(*lb, *set, 20000), {0.5, 0.5}));
}

}  // namespace
}  // namespace dougong::cluster
