// The consistent-hash balancer: affinity, balance, minimal movement.
#include <gtest/gtest.h>

#include <cmath>

#include "cluster/consistent_hash_balancer.h"
#include "lb_test_util.h"

namespace dougong::cluster {
namespace {

using testing::FitsDistribution;
using testing::MakeBalancer;
using testing::MakeProviders;
using testing::MakeSet;

constexpr int kKeys = 40000;

std::string Key(int k) { return "user-" + std::to_string(k); }

// The address each key maps to.
std::vector<std::string> Assign(LoadBalancer& lb, const ProviderSet& set) {
  std::vector<std::string> owner;
  SelectContext ctx;
  for (int k = 0; k < kKeys; ++k) {
    std::string key = Key(k);
    ctx.hash_key = key;
    owner.push_back(set[*lb.Select(set, ctx)].address);
  }
  return owner;
}

TEST(ConsistentHash, SameKeySameProvider) {
  ProviderSetPtr set = MakeSet(std::vector<int>(7, 100));
  auto lb = MakeBalancer("consistenthash");
  std::vector<std::string> first = Assign(*lb, *set);
  EXPECT_EQ(Assign(*lb, *set), first);
  // Another client (another balancer, another seed) with the same providers
  // listed in another order, with other weights, agrees.
  std::vector<Provider> shuffled = MakeProviders({1, 2, 3, 4, 5, 6, 7});
  std::reverse(shuffled.begin(), shuffled.end());
  LoadBalancerOptions options;
  options.seed = 99;
  EXPECT_EQ(Assign(*MakeBalancer("consistenthash", options), *MakeSet(shuffled)), first);
}

// Keys land on providers in proportion to the arcs they own, and with 160
// points each the arcs are within 25% of an equal share.
TEST(ConsistentHash, KeysFollowTheRing) {
  ConsistentHashBalancer lb(LoadBalancerOptions{});
  for (size_t n : {3u, 10u}) {
    ProviderSetPtr set = MakeSet(std::vector<int>(n, 100));
    std::vector<double> shares = lb.RingFor(*set)->Shares(n);
    for (double share : shares) {
      EXPECT_GT(share, 0.75 / n);
      EXPECT_LT(share, 1.25 / n);
    }
    std::vector<int64_t> counts(n, 0);
    for (const std::string& address : Assign(lb, *set)) ++counts[*set->Find(address)];
    EXPECT_TRUE(FitsDistribution(counts, shares));
    // Not merely any distribution: against equal shares the test rejects it
    // (the arcs are unequal and 40,000 keys see it), so it has power here.
    EXPECT_FALSE(FitsDistribution(counts, std::vector<double>(n, 1.0 / n)));
  }
}

TEST(ConsistentHash, RemovingAProviderMovesOnlyItsKeys) {
  std::vector<Provider> providers = MakeProviders(std::vector<int>(10, 100));
  ProviderSetPtr before = MakeSet(providers);
  auto lb = MakeBalancer("consistenthash");
  std::vector<std::string> owner_before = Assign(*lb, *before);
  const std::string gone = providers[3].address;
  providers.erase(providers.begin() + 3);
  std::vector<std::string> owner_after = Assign(*lb, *MakeSet(providers));
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (owner_before[k] == gone) {
      ++moved;
      EXPECT_NE(owner_after[k], gone);
    } else {
      ASSERT_EQ(owner_after[k], owner_before[k]) << Key(k) << " moved";
    }
  }
  EXPECT_GT(moved, kKeys / 10 * 3 / 4);
}

TEST(ConsistentHash, AddingAProviderMovesAboutOneInN) {
  std::vector<Provider> providers = MakeProviders(std::vector<int>(11, 100));
  const std::string added = providers.back().address;
  ProviderSetPtr with = MakeSet(providers);
  providers.pop_back();
  ProviderSetPtr without = MakeSet(providers);
  auto lb = MakeBalancer("consistenthash");
  std::vector<std::string> owner_before = Assign(*lb, *without);
  std::vector<std::string> owner_after = Assign(*lb, *with);
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (owner_after[k] != owner_before[k]) {
      ++moved;
      EXPECT_EQ(owner_after[k], added) << "a key moved between old providers";
    }
  }
  const double fraction = static_cast<double>(moved) / kKeys;
  EXPECT_GT(fraction, 0.75 / 11);
  EXPECT_LT(fraction, 1.25 / 11);
}

// A retry of a key goes where the key would go if the tried provider left.
TEST(ConsistentHash, ExclusionActsAsRemoval) {
  std::vector<Provider> providers = MakeProviders(std::vector<int>(6, 100));
  ProviderSetPtr all = MakeSet(providers);
  providers.erase(providers.begin() + 2);
  ProviderSetPtr without = MakeSet(providers);
  auto lb = MakeBalancer("consistenthash");
  ExclusionSet tried;
  tried.Add(2);
  SelectContext ctx;
  ctx.excluded = &tried;
  for (int k = 0; k < 2000; ++k) {
    std::string key = Key(k);
    ctx.hash_key = key;
    SelectContext plain;
    plain.hash_key = key;
    EXPECT_EQ((*all)[*lb->Select(*all, ctx)].address,
              (*without)[*lb->Select(*without, plain)].address);
  }
}

TEST(ConsistentHash, RingIsRebuiltOnlyWhenMembershipChanges) {
  ConsistentHashBalancer lb(LoadBalancerOptions{});
  std::vector<Provider> providers = MakeProviders({100, 100, 100});
  ProviderSetPtr a = MakeSet(providers);
  auto ring = lb.RingFor(*a);
  EXPECT_EQ(lb.RingFor(*a), ring);
  providers[0].weight = 5;  // a registry update that is no membership change
  EXPECT_EQ(lb.RingFor(*MakeSet(providers)), ring);
  providers.pop_back();
  EXPECT_NE(lb.RingFor(*MakeSet(providers)), ring);
}

TEST(ConsistentHash, KeylessCallsSpread) {
  auto lb = MakeBalancer("consistenthash");
  ProviderSetPtr set = MakeSet(std::vector<int>(4, 100));
  std::vector<int64_t> counts = testing::Sample(*lb, *set, 4000);
  for (int64_t c : counts) EXPECT_GT(c, 4000 / 4 / 2);
}

}  // namespace
}  // namespace dougong::cluster
