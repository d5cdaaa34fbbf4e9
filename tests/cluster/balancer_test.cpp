// What every balancer promises (errors, exclusions, failover, threads), and
// the distributions of the weight- and load-based ones.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "dougong/cluster/load_balancer.h"
#include "lb_test_util.h"

namespace dougong::cluster {
namespace {

using namespace std::chrono_literals;
using testing::FitsDistribution;
using testing::MakeBalancer;
using testing::MakeSet;
using testing::Proportions;
using testing::Sample;

const char* const kAllNames[] = {"random",         "roundrobin", "leastactive", "shortestresponse",
                                 "consistenthash", "sticky",     "localfirst"};

class EveryBalancer : public ::testing::TestWithParam<const char*> {};
INSTANTIATE_TEST_SUITE_P(Cluster, EveryBalancer, ::testing::ValuesIn(kAllNames),
                         [](const auto& info) { return std::string(info.param); });

TEST_P(EveryBalancer, FactoryNamesIt) { EXPECT_EQ(MakeBalancer(GetParam())->name(), GetParam()); }

TEST_P(EveryBalancer, EmptySetIsUnavailable) {
  auto lb = MakeBalancer(GetParam());
  Result<size_t> r = lb->Select(*MakeSet(std::vector<Provider>{}), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no provider"), std::string::npos);
}

TEST_P(EveryBalancer, AllExcludedIsUnavailable) {
  auto lb = MakeBalancer(GetParam());
  ProviderSetPtr set = MakeSet({100, 100, 100});
  ExclusionSet tried;
  for (size_t i = 0; i < set->size(); ++i) tried.Add(i);
  SelectContext ctx;
  ctx.excluded = &tried;
  ctx.hash_key = "user-42";
  Result<size_t> r = lb->Select(*set, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("all 3 providers are excluded"), std::string::npos);
}

TEST_P(EveryBalancer, NeverPicksAnExcludedProvider) {
  auto lb = MakeBalancer(GetParam());
  ProviderSetPtr set = MakeSet({100, 300, 100, 500, 100, 0});
  for (std::vector<size_t> excluded : {std::vector<size_t>{0}, {1, 3}, {0, 1, 2, 4}, {0, 1, 2, 3, 4}}) {
    ExclusionSet tried;
    for (size_t i : excluded) tried.Add(i);
    SelectContext ctx;
    ctx.excluded = &tried;
    std::set<size_t> seen;
    for (int k = 0; k < 500; ++k) {
      ctx.hash_key = k % 2 ? "" : std::string_view("key");
      Result<size_t> r = lb->Select(*set, ctx);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_FALSE(tried.Contains(*r)) << "picked excluded provider " << *r;
      seen.insert(*r);
    }
    // Only the weight-0 provider left: it is chosen rather than failing.
    if (excluded.size() == 5) {
      EXPECT_EQ(seen, std::set<size_t>{5});
    }
  }
}

// Failover: select, fail, exclude, select again. Every provider is tried
// exactly once before the balancer reports there is nothing left.
TEST_P(EveryBalancer, FailoverTriesEachProviderOnce) {
  auto lb = MakeBalancer(GetParam());
  ProviderSetPtr set = MakeSet({100, 200, 300, 400, 500});
  for (int call = 0; call < 20; ++call) {
    ExclusionSet tried;
    SelectContext ctx;
    ctx.excluded = &tried;
    std::string key = "order-" + std::to_string(call);
    ctx.hash_key = key;
    for (size_t attempt = 0; attempt < set->size(); ++attempt) {
      Result<size_t> r = lb->Select(*set, ctx);
      ASSERT_TRUE(r.ok()) << r.status().message();
      ASSERT_FALSE(tried.Contains(*r));
      tried.Add(*r);
    }
    EXPECT_EQ(tried.size(), set->size());
    EXPECT_FALSE(lb->Select(*set, ctx).ok());
  }
}

// Concurrent Selects (with stats updates) from several threads; run under
// the sanitizers this checks the lock-free paths for memory errors.
TEST_P(EveryBalancer, ConcurrentSelects) {
  auto lb = MakeBalancer(GetParam());
  ProviderSetPtr a = MakeSet({100, 200, 300});
  ProviderSetPtr b = MakeSet({100, 200, 300, 400});
  auto work = [&](int seed) {
    for (int k = 0; k < 5000; ++k) {
      const ProviderSet& set = (k / 100 + seed) % 2 ? *a : *b;  // membership flips
      SelectContext ctx;
      std::string key = std::to_string(k);
      ctx.hash_key = key;
      Result<size_t> r = lb->Select(set, ctx);
      ASSERT_TRUE(r.ok());
      ASSERT_LT(*r, set.size());
      set.stats(*r).OnStart();
      set.stats(*r).OnFinish(std::chrono::microseconds(k % 50), true);
    }
  };
  std::thread t1(work, 0), t2(work, 1);
  t1.join();
  t2.join();
}

TEST(Factory, RefusesUnknownNames) {
  Result<std::unique_ptr<LoadBalancer>> lb = NewLoadBalancer("p2c");
  ASSERT_FALSE(lb.ok());
  EXPECT_EQ(lb.status().code(), Code::kInvalidArgument);
  EXPECT_NE(lb.status().message().find("roundrobin"), std::string::npos);
  LoadBalancerOptions options;
  options.inner = "fastest";
  EXPECT_FALSE(NewLoadBalancer("sticky", options).ok());
  options.inner = "sticky";  // localfirst over sticky over random
  EXPECT_TRUE(NewLoadBalancer("localfirst", options).ok());
}

// The check the distribution tests rely on has power: it rejects samples
// of a distribution other than the promised one, even a little off.
TEST(ChiSquare, RejectsTheWrongDistribution) {
  ProviderSetPtr set = MakeSet({100, 200, 300, 400});
  auto lb = MakeBalancer("random");
  std::vector<int64_t> counts = Sample(*lb, *set, 100000);
  EXPECT_TRUE(FitsDistribution(counts, Proportions({1, 2, 3, 4})));
  EXPECT_FALSE(FitsDistribution(counts, Proportions({1, 1, 1, 1})));
  EXPECT_FALSE(FitsDistribution(counts, Proportions({1, 2, 3, 4.3})));  // one weight 7.5% off
  EXPECT_FALSE(FitsDistribution(counts, Proportions({0, 2, 3, 4})));    // an impossible cell
}

TEST(Random, FollowsWeights) {
  ProviderSetPtr set = MakeSet({100, 200, 300, 400, 50});
  for (uint64_t seed : {1u, 2u, 3u}) {
    LoadBalancerOptions options;
    options.seed = seed;
    auto lb = MakeBalancer("random", options);
    EXPECT_TRUE(FitsDistribution(Sample(*lb, *set, 50000), Proportions({100, 200, 300, 400, 50})));
  }
}

TEST(Random, EqualWeightsAreUniformAndZeroWeightsGetNothing) {
  auto lb = MakeBalancer("random");
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *MakeSet({7, 7, 7, 7, 7, 7}), 30000),
                               Proportions({1, 1, 1, 1, 1, 1})));
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *MakeSet({0, 100, 0, 100}), 10000),
                               Proportions({0, 1, 0, 1})));
  // All at 0 (all drained): uniform rather than an error.
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *MakeSet({0, 0, 0}), 9000), Proportions({1, 1, 1})));
}

TEST(RoundRobin, SmoothSequenceOfNginx) {
  auto lb = MakeBalancer("roundrobin");
  ProviderSetPtr set = MakeSet({5, 1, 1});
  std::string sequence;
  for (int k = 0; k < 14; ++k) sequence += static_cast<char>('a' + *lb->Select(*set, {}));
  EXPECT_EQ(sequence, "aabacaa" "aabacaa");
}

TEST(RoundRobin, EachCycleGivesExactlyTheWeights) {
  auto lb = MakeBalancer("roundrobin");
  const std::vector<int> weights = {3, 2, 4, 1};
  ProviderSetPtr set = MakeSet(weights);
  std::vector<int64_t> total(weights.size(), 0);
  for (int cycle = 0; cycle < 100; ++cycle) {
    std::vector<int64_t> counts = Sample(*lb, *set, 10);
    for (size_t i = 0; i < weights.size(); ++i) {
      ASSERT_EQ(counts[i], weights[i]) << "cycle " << cycle << " provider " << i;
      total[i] += counts[i];
    }
  }
  EXPECT_TRUE(FitsDistribution(total, Proportions({3, 2, 4, 1})));
}

TEST(RoundRobin, ExcludedProvidersSitOut) {
  auto lb = MakeBalancer("roundrobin");
  ProviderSetPtr set = MakeSet({5, 1, 1});
  ExclusionSet tried;
  tried.Add(0);
  SelectContext ctx;
  ctx.excluded = &tried;
  std::string sequence;
  for (int k = 0; k < 4; ++k) sequence += static_cast<char>('a' + *lb->Select(*set, ctx));
  EXPECT_EQ(sequence, "bcbc");
}

TEST(RoundRobin, ZeroWeightsTakeTurns) {
  auto lb = MakeBalancer("roundrobin");
  ProviderSetPtr set = MakeSet({0, 0, 0});
  std::string sequence;
  for (int k = 0; k < 6; ++k) sequence += static_cast<char>('a' + *lb->Select(*set, {}));
  EXPECT_EQ(sequence, "abcabc");
}

TEST(LeastActive, PrefersIdleProviders) {
  auto lb = MakeBalancer("leastactive");
  ProviderSetPtr set = MakeSet({500, 100, 500});
  set->stats(0).OnStart();
  set->stats(2).OnStart();
  set->stats(2).OnStart();
  std::vector<int64_t> counts = Sample(*lb, *set, 1000);
  EXPECT_EQ(counts[1], 1000);
  // Once 1 is busier than 0, 0 takes everything.
  set->stats(1).OnStart();
  set->stats(1).OnStart();
  EXPECT_EQ(Sample(*lb, *set, 1000)[0], 1000);
}

TEST(LeastActive, TiesAreWeightedRandom) {
  auto lb = MakeBalancer("leastactive");
  ProviderSetPtr set = MakeSet({100, 200, 300, 400});
  for (size_t i = 0; i < 3; ++i) set->stats(i).OnStart();
  set->stats(3).OnStart();
  set->stats(3).OnStart();  // 3 has one more call in flight: out of the tie
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *set, 60000), Proportions({100, 200, 300, 0})));
}

TEST(LeastActive, SpreadsWhenCallsAreHeld) {
  // Calls that never finish: each pick makes that provider busier, so picks
  // go round all providers regardless of weight.
  auto lb = MakeBalancer("leastactive");
  ProviderSetPtr set = MakeSet({100, 1000, 10});
  for (int k = 0; k < 30; ++k) set->stats(*lb->Select(*set, {})).OnStart();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(set->stats(i).active(), 10);
}

// Estimated wait = EWMA latency x (active + 1).
TEST(ShortestResponse, PicksTheSmallestEstimateTiesByWeight) {
  auto lb = MakeBalancer("shortestresponse");
  ProviderSetPtr set = MakeSet({100, 400, 300, 100});
  auto record = [&](size_t i, std::chrono::nanoseconds latency, int active) {
    set->stats(i).OnStart();
    set->stats(i).OnFinish(latency, true);
    for (int k = 0; k < active; ++k) set->stats(i).OnStart();
  };
  record(0, 10ms, 0);  // 10 x 1 = 10
  record(1, 4ms, 2);   // 4 x 3 = 12
  record(2, 5ms, 1);   // 5 x 2 = 10
  record(3, 20ms, 0);  // 20
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *set, 40000), Proportions({100, 0, 300, 0})));
  // One more call in flight on 2 (5 x 3 = 15) leaves 0 alone in front.
  set->stats(2).OnStart();
  EXPECT_EQ(Sample(*lb, *set, 1000)[0], 1000);
}

TEST(ShortestResponse, UntriedProvidersGoFirst) {
  auto lb = MakeBalancer("shortestresponse");
  ProviderSetPtr set = MakeSet({100, 100});
  set->stats(0).OnStart();
  set->stats(0).OnFinish(1ms, true);
  EXPECT_EQ(*lb->Select(*set, {}), 1u);
  // A failure does not count as a latency: 1 is still untried.
  set->stats(1).OnStart();
  set->stats(1).OnFinish(100us, false);
  EXPECT_EQ(*lb->Select(*set, {}), 1u);
}

}  // namespace
}  // namespace dougong::cluster
