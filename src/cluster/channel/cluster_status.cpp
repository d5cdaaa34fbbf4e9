// The cluster channel's snapshot as status text and as Prometheus samples,
// for the servers' /status and /metrics pages (ObservabilityRegistry).
#include <fmt/format.h>

#include "dougong/cluster/cluster_channel.h"

namespace dougong::cluster {

namespace {

std::string_view BreakerText(const std::optional<CircuitBreakerSnapshot>& b) {
  return b ? BreakerStateName(b->state) : "none";
}

// 0 closed, 1 open, 2 half-open (BreakerState's values).
double BreakerGauge(const CircuitBreakerSnapshot& b) { return static_cast<double>(static_cast<int>(b.state)); }

}  // namespace

std::string FormatClusterStatus(const ClusterChannelStatus& s) {
  std::string out = fmt::format("cluster {} lb={} providers={} retry_budget(requests={} retries={} balance={} "
                                "refused={}) failback(pending={} succeeded={} given_up={} retries_failed={})\n",
                                s.service, s.load_balancer, s.providers.size(), s.retry_budget.requests,
                                s.retry_budget.retries, s.retry_budget.balance, s.retry_budget.refused,
                                s.failback_pending, s.failback_succeeded, s.failback_given_up,
                                s.failback_retries_failed);
  for (const auto& p : s.providers)
    out += fmt::format("  provider {} weight={} active={} ewma_us={} ok={} failed={} ejected={} breaker={}\n",
                       p.address, p.weight, p.active, p.ewma_latency.count() / 1000, p.succeeded, p.failed,
                       p.ejected, BreakerText(p.breaker));
  for (const auto& m : s.methods)
    out += fmt::format("  method {} mode={} calls={} ok={} failed={} retries={} hedges={} rejected={} "
                       "short_circuited={} fallbacks={} failsafe={} failback={} in_process={} in_flight={} "
                       "breaker={}\n",
                       m.method, FaultToleranceName(m.mode), m.calls, m.succeeded, m.failed, m.retries, m.hedges,
                       m.rejected, m.short_circuited, m.fallbacks, m.failsafe_swallowed, m.failback_queued,
                       m.in_process, m.in_flight, BreakerText(m.breaker));
  return out;
}

void AppendClusterMetrics(const ClusterChannelStatus& s, MetricFamilies& out) {
  using T = MetricType;
  const std::string_view svc = s.service;
  auto channel = [&](std::string_view name, T type, std::string_view help, double v) {
    out.Add(name, type, help, {{"service", svc}}, v);
  };
  channel("dougong_cluster_providers", T::kGauge, "Providers known to a cluster channel.",
          static_cast<double>(s.providers.size()));
  channel("dougong_cluster_retry_budget_refused_total", T::kCounter, "Retries and hedges refused by the retry budget.",
          static_cast<double>(s.retry_budget.refused));
  channel("dougong_cluster_failback_pending", T::kGauge, "Failback calls waiting for a background retry.",
          static_cast<double>(s.failback_pending));
  channel("dougong_cluster_failback_succeeded_total", T::kCounter, "Failback calls a background retry completed.",
          static_cast<double>(s.failback_succeeded));
  channel("dougong_cluster_failback_given_up_total", T::kCounter, "Failback calls dropped after their last retry.",
          static_cast<double>(s.failback_given_up));
  channel("dougong_cluster_failback_retries_failed_total", T::kCounter, "Background failback attempts that failed.",
          static_cast<double>(s.failback_retries_failed));

  for (const auto& p : s.providers) {
    auto provider = [&](std::string_view name, T type, std::string_view help, double v) {
      out.Add(name, type, help, {{"service", svc}, {"provider", p.address}}, v);
    };
    provider("dougong_cluster_provider_weight", T::kGauge, "A provider's registered weight.", p.weight);
    provider("dougong_cluster_provider_active", T::kGauge, "Attempts in flight to a provider.",
             static_cast<double>(p.active));
    provider("dougong_cluster_provider_latency_ewma_seconds", T::kGauge, "A provider's latency (EWMA).",
             std::chrono::duration<double>(p.ewma_latency).count());
    provider("dougong_cluster_provider_succeeded_total", T::kCounter, "Attempts a provider answered OK.",
             static_cast<double>(p.succeeded));
    provider("dougong_cluster_provider_failed_total", T::kCounter, "Attempts to a provider that failed.",
             static_cast<double>(p.failed));
    provider("dougong_cluster_provider_ejected", T::kGauge, "1 while outlier detection ejects the provider.",
             p.ejected ? 1 : 0);
    if (p.breaker)
      provider("dougong_cluster_provider_breaker_open", T::kGauge,
               "A provider's circuit breaker: 0 closed, 1 open, 2 half-open.", BreakerGauge(*p.breaker));
  }

  for (const auto& m : s.methods) {
    auto method = [&](std::string_view name, T type, std::string_view help, double v) {
      out.Add(name, type, help, {{"service", svc}, {"method", m.method}}, v);
    };
    auto count = [&](std::string_view name, std::string_view help, uint64_t v) {
      method(name, T::kCounter, help, static_cast<double>(v));
    };
    count("dougong_cluster_calls_total", "Calls through a cluster channel.", m.calls);
    count("dougong_cluster_calls_failed_total", "Calls that ended with an error.", m.failed);
    count("dougong_cluster_retries_total", "Attempts after the first, hedges included.", m.retries);
    count("dougong_cluster_hedges_total", "Hedged attempts.", m.hedges);
    count("dougong_cluster_rejected_total", "Calls refused by the method's concurrency or rate limit.", m.rejected);
    count("dougong_cluster_short_circuited_total", "Calls refused by the method's open breaker.", m.short_circuited);
    count("dougong_cluster_fallbacks_total", "Calls answered by the fallback hook.", m.fallbacks);
    count("dougong_cluster_failsafe_total", "Failsafe errors swallowed.", m.failsafe_swallowed);
    count("dougong_cluster_failback_queued_total", "Failback calls queued for background retries.",
          m.failback_queued);
    count("dougong_cluster_in_process_total", "Calls sent to the in-process server.", m.in_process);
    method("dougong_cluster_in_flight", T::kGauge, "Calls in flight through a cluster channel.",
           static_cast<double>(m.in_flight));
    if (m.breaker)
      method("dougong_cluster_breaker_open", T::kGauge, "A method's circuit breaker: 0 closed, 1 open, 2 half-open.",
             BreakerGauge(*m.breaker));
  }
}

}  // namespace dougong::cluster
