// The balancers that wrap another one: sticky and locality first.
#include <gtest/gtest.h>

#include "lb_test_util.h"

namespace dougong::cluster {
namespace {

using testing::FitsDistribution;
using testing::MakeBalancer;
using testing::MakeProviders;
using testing::MakeSet;
using testing::Proportions;
using testing::Sample;

TEST(Sticky, KeepsTheLastProviderWhileItIsThere) {
  auto lb = MakeBalancer("sticky");
  std::vector<Provider> providers = MakeProviders({100, 100, 100, 100});
  ProviderSetPtr set = MakeSet(providers);
  const size_t first = *lb->Select(*set, {});
  std::vector<int64_t> counts = Sample(*lb, *set, 500);
  EXPECT_EQ(counts[first], 500);

  // Tried and failed: the call moves, and the next calls stay on the new one.
  ExclusionSet tried;
  tried.Add(first);
  SelectContext retry;
  retry.excluded = &tried;
  const size_t second = *lb->Select(*set, retry);
  EXPECT_NE(second, first);
  EXPECT_EQ(Sample(*lb, *set, 100)[second], 100);

  // A registry update that keeps it: still there (found by address).
  providers.push_back(MakeProviders({1, 1, 1, 1, 1}).back());
  ProviderSetPtr grown = MakeSet(providers, set.get());
  const std::string& address = (*set)[second].address;
  EXPECT_EQ((*grown)[*lb->Select(*grown, {})].address, address);

  // It leaves: another one is chosen and kept.
  std::erase_if(providers, [&](const Provider& p) { return p.address == address; });
  ProviderSetPtr shrunk = MakeSet(providers);
  const size_t third = *lb->Select(*shrunk, {});
  EXPECT_EQ(Sample(*lb, *shrunk, 100)[third], 100);
}

TEST(Sticky, LetsGoOfADrainedProvider) {
  auto lb = MakeBalancer("sticky");
  std::vector<Provider> providers = MakeProviders({100, 100});
  const size_t first = *lb->Select(*MakeSet(providers), {});
  providers[first].weight = 0;
  EXPECT_EQ(*lb->Select(*MakeSet(providers), {}), 1 - first);
}

// Over many fresh balancers the first choice is the inner balancer's.
TEST(Sticky, FirstChoiceFollowsTheInnerBalancer) {
  ProviderSetPtr set = MakeSet({100, 300});
  std::vector<int64_t> counts(2, 0);
  for (uint64_t seed = 1; seed <= 4000; ++seed) {
    LoadBalancerOptions options;
    options.seed = seed;
    ++counts[*MakeBalancer("sticky", options)->Select(*set, {})];
  }
  EXPECT_TRUE(FitsDistribution(counts, Proportions({1, 3})));
}

// Providers: two on host "h1" (zone a), two more in zone a, two in zone b.
ProviderSetPtr ZonedSet() {
  std::vector<Provider> providers = MakeProviders({100, 100, 100, 300, 100, 100});
  const char* hosts[] = {"h1", "h1", "h2", "h3", "h4", "h5"};
  const char* zones[] = {"a", "a", "a", "a", "b", "b"};
  for (size_t i = 0; i < providers.size(); ++i) {
    providers[i].host = hosts[i];
    providers[i].zone = zones[i];
  }
  return MakeSet(providers);
}

TEST(LocalFirst, SameHostThenSameZoneThenAnywhere) {
  ProviderSetPtr set = ZonedSet();
  auto lb = MakeBalancer("localfirst");
  SelectContext ctx;
  ctx.host = "h1";
  ctx.zone = "a";
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *set, 20000, ctx), Proportions({1, 1, 0, 0, 0, 0})));

  ExclusionSet tried;  // both local instances failed: the rest of zone a
  tried.Add(0);
  tried.Add(1);
  ctx.excluded = &tried;
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *set, 20000, ctx), Proportions({0, 0, 1, 3, 0, 0})));

  tried.Add(2);  // zone a gone too: anywhere
  tried.Add(3);
  EXPECT_TRUE(FitsDistribution(Sample(*lb, *set, 20000, ctx), Proportions({0, 0, 0, 0, 1, 1})));

  SelectContext elsewhere;  // a caller in an unknown zone on another host
  elsewhere.host = "h9";
  elsewhere.zone = "c";
  EXPECT_TRUE(
      FitsDistribution(Sample(*lb, *set, 40000, elsewhere), Proportions({1, 1, 1, 3, 1, 1})));
}

TEST(LocalFirst, ZoneOnlyAndDrainedTiersAreSkipped) {
  std::vector<Provider> providers = MakeProviders({0, 100, 100});
  providers[0].host = "me";  // drained: the local tier is not usable
  providers[0].zone = "b";
  providers[1].zone = "b";
  providers[2].zone = "c";
  ProviderSetPtr set = MakeSet(providers);
  auto lb = MakeBalancer("localfirst");
  SelectContext ctx;
  ctx.host = "me";
  ctx.zone = "b";
  EXPECT_EQ(Sample(*lb, *set, 1000, ctx)[1], 1000);
  ctx.host = {};  // no host given: zone first
  EXPECT_EQ(Sample(*lb, *set, 1000, ctx)[1], 1000);
}

TEST(LocalFirst, WrapsTheNamedBalancer) {
  LoadBalancerOptions options;
  options.inner = "roundrobin";
  auto lb = MakeBalancer("localfirst", options);
  ProviderSetPtr set = ZonedSet();
  SelectContext ctx;
  ctx.zone = "a";
  std::string sequence;
  for (int k = 0; k < 6; ++k) sequence += static_cast<char>('a' + *lb->Select(*set, ctx));
  EXPECT_EQ(sequence, "dabdcd");  // smooth round robin of 1,1,1,3 within zone a
}

}  // namespace
}  // namespace dougong::cluster
