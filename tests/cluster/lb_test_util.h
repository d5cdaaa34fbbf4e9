// Helpers of the load-balancing tests: provider sets, sampling, and
// Pearson's chi-square goodness-of-fit test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dougong/cluster/load_balancer.h"

namespace dougong::cluster::testing {

// Providers "p0:1000", "p1:1001", ... with these weights, already warm.
inline std::vector<Provider> MakeProviders(const std::vector<int>& weights) {
  std::vector<Provider> providers;
  for (size_t i = 0; i < weights.size(); ++i) {
    Provider p;
    p.address = "p" + std::to_string(i) + ":" + std::to_string(1000 + i);
    p.weight = weights[i];
    providers.push_back(std::move(p));
  }
  return providers;
}

inline ProviderSetPtr MakeSet(std::vector<Provider> providers,
                              const ProviderSet* previous = nullptr) {
  Result<ProviderSetPtr> set = ProviderSet::Create(std::move(providers), previous);
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : nullptr;
}

inline ProviderSetPtr MakeSet(const std::vector<int>& weights) {
  return MakeSet(MakeProviders(weights));
}

inline std::unique_ptr<LoadBalancer> MakeBalancer(std::string_view name,
                                                  LoadBalancerOptions options = {}) {
  if (options.seed == 0) options.seed = 20261125;
  Result<std::unique_ptr<LoadBalancer>> lb = NewLoadBalancer(name, options);
  EXPECT_TRUE(lb.ok()) << lb.status().message();
  return lb.ok() ? std::move(lb).value() : nullptr;
}

// How often each provider was chosen in `n` selections.
inline std::vector<int64_t> Sample(LoadBalancer& lb, const ProviderSet& set, int n,
                                   const SelectContext& ctx = {}) {
  std::vector<int64_t> counts(set.size(), 0);
  for (int k = 0; k < n; ++k) {
    Result<size_t> i = lb.Select(set, ctx);
    EXPECT_TRUE(i.ok()) << i.status().message();
    if (!i.ok()) break;
    ++counts[*i];
  }
  return counts;
}

// Probabilities proportional to `weights`.
inline std::vector<double> Proportions(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  std::vector<double> p;
  for (double w : weights) p.push_back(w / total);
  return p;
}

struct ChiSquareResult {
  double statistic = 0;
  int degrees_of_freedom = 0;
  bool impossible_cell = false;  // a count where the probability is 0
};

// Pearson's statistic of `counts` against `probabilities`. Cells of
// probability 0 are not counted as degrees of freedom; a count in one is
// recorded as impossible.
inline ChiSquareResult ChiSquare(const std::vector<int64_t>& counts,
                                 const std::vector<double>& probabilities) {
  ChiSquareResult r;
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  int cells = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (probabilities[i] <= 0) {
      r.impossible_cell |= counts[i] != 0;
      continue;
    }
    const double expected = probabilities[i] * static_cast<double>(n);
    const double d = static_cast<double>(counts[i]) - expected;
    r.statistic += d * d / expected;
    ++cells;
  }
  r.degrees_of_freedom = cells - 1;
  return r;
}

// The chi-square distribution's upper 0.1% point: a correct sampler exceeds
// it once in a thousand seeds, and the seeds are fixed.
inline double ChiSquareCritical999(int df) {
  static const double kTable[] = {0,     10.828, 13.816, 16.266, 18.467, 20.515, 22.458,
                                  24.322, 26.124, 27.877, 29.588, 31.264, 32.909};
  return df >= 1 && df <= 12 ? kTable[df] : 1e300;
}

// The sampled counts fit the promised distribution.
inline ::testing::AssertionResult FitsDistribution(const std::vector<int64_t>& counts,
                                                   const std::vector<double>& probabilities) {
  ChiSquareResult r = ChiSquare(counts, probabilities);
  std::string observed;
  for (int64_t c : counts) observed += std::to_string(c) + " ";
  if (r.impossible_cell) {
    return ::testing::AssertionFailure() << "a provider of probability 0 was chosen: " << observed;
  }
  if (r.degrees_of_freedom < 1 || r.statistic >= ChiSquareCritical999(r.degrees_of_freedom)) {
    return ::testing::AssertionFailure()
           << "chi-square " << r.statistic << " with " << r.degrees_of_freedom
           << " df exceeds the 0.1% point " << ChiSquareCritical999(r.degrees_of_freedom)
           << "; counts " << observed;
  }
  return ::testing::AssertionSuccess() << "chi-square " << r.statistic;
}

// A clock the test moves by hand.
struct FakeClock {
  int64_t now_ms = 1'000'000'000'000;
  LoadBalancerOptions Options() {
    LoadBalancerOptions options;
    options.clock = [this] { return now_ms; };
    return options;
  }
};

}  // namespace dougong::cluster::testing
