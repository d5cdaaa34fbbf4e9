// ClusterChannel: a ChannelInterface over every provider of one service.
// Discovery (NamingService) supplies the providers, a LoadBalancer picks one
// per attempt, and a fault-tolerance mode decides what a failure does
// (retry elsewhere, fail, swallow, retry later, race, call all). Breakers,
// outlier ejection, concurrency and rate limits and a retry budget guard the
// service and the caller. Modes, defaults and options: docs/cluster.md,
// "Cluster channel".
//
//   cluster::ClusterChannelOptions o;
//   o.load_balancer = "leastactive";
//   o.idempotent_methods = {"Echo"};
//   o.method_policies["Notify"].mode = cluster::FaultTolerance::kFailback;
//   auto ch = cluster::ClusterChannel::Create("zk://127.0.0.1:2181/dougong",
//                                             "dougong.example.EchoService", o);
//   example::EchoServiceStub stub(*ch);
//
// Generated stubs take it like any channel. One rpc::Channel is kept per
// provider address (made at its first call, dropped when the provider
// leaves the registry).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/observability.h"
#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/cluster/circuit_breaker.h"
#include "dougong/cluster/clock.h"
#include "dougong/cluster/config_center.h"
#include "dougong/cluster/load_balancer.h"
#include "dougong/cluster/naming.h"
#include "dougong/cluster/outlier_detector.h"
#include "dougong/cluster/retry_budget.h"
#include "dougong/cluster/rules.h"
#include "dougong/rpc/channel.h"

namespace dougong::rpc {
class Server;
}

namespace dougong::cluster {

// What a failed call does (Dubbo's cluster names).
enum class FaultTolerance : uint8_t {
  kFailover,   // retry on other providers (`retries`), never one already tried
  kFailfast,   // one attempt; its error is the call's
  kFailsafe,   // one attempt; an error is logged and the call returns OK, empty
  kFailback,   // one attempt; a retryable error is queued for background
               // retries and the call returns OK, empty
  kForking,    // `forks` providers at once; the first success wins, the rest
               // are cancelled
  kBroadcast,  // every provider; fails if any failed
  kAvailable,  // the first provider (address order) that is up
};
// "failover", "failfast", "failsafe", "failback", "forking", "broadcast", "available".
std::string_view FaultToleranceName(FaultTolerance mode);
Result<FaultTolerance> ParseFaultTolerance(std::string_view name);

// How calls of a method are made; ClusterChannelOptions::policy for the
// service, method_policies for the methods that differ.
struct CallPolicy {
  FaultTolerance mode = FaultTolerance::kFailover;
  // failover: attempts after the first, hedges included.
  int retries = 2;
  // forking: attempts sent at once.
  int forks = 2;
  // The longest one attempt may take, so a hung provider leaves time for a
  // retry; 0: the call's whole remaining time. Never extends the call's
  // deadline.
  std::chrono::milliseconds attempt_timeout{0};
  // failover, idempotent methods: a backup attempt to another provider when
  // the previous one has not answered after this long (0: no hedging).
  std::chrono::milliseconds hedge_delay{0};
  // Calls of the method in flight on this channel; 0: unlimited.
  size_t max_concurrency = 0;
  // Calls per second through this channel; 0: unlimited. Burst 0: one
  // second's worth.
  double rate_limit_qps = 0;
  double rate_limit_burst = 0;
  // failback: background retries, `failback_interval` apart, at most
  // `failback_retries` of them.
  std::chrono::milliseconds failback_interval{5000};
  int failback_retries = 3;
};

// Runs when a call is rejected (concurrency or rate limit), times out
// (DEADLINE_EXCEEDED) or finds the breaker open (method breaker, or every
// provider's breaker open or ejected). `cause` is the error the call would
// return; what the hook returns is returned instead (fill `response` and
// return OK to degrade gracefully). Runs on the thread that completes the
// call, just before `done`.
using FallbackHook = std::function<Status(const rpc::MethodSpec& method, const google::protobuf::Message& request,
                                          google::protobuf::Message* response, const Status& cause)>;

struct ClusterChannelOptions {
  std::string load_balancer = "random";  // NewLoadBalancer's names
  LoadBalancerOptions balancer;
  CallPolicy policy;                                              // the service's
  std::map<std::string, CallPolicy, std::less<>> method_policies;  // by method name
  // Methods safe to send twice, besides those the proto marks idempotent
  // (MethodSpec::idempotent). Only they are hedged and retried on
  // `idempotent_retryable_codes`.
  std::set<std::string, std::less<>> idempotent_methods;
  // Errors after which failover retries any method (the request may not have
  // been processed) and failback queues the call.
  std::vector<Code> retryable_codes{Code::kUnavailable};
  // Errors after which only idempotent methods are retried (the request may
  // have been processed).
  std::vector<Code> idempotent_retryable_codes{Code::kDeadlineExceeded};
  // Caps retries and hedges over the whole channel.
  RetryBudgetOptions retry_budget;
  // nullopt disables. Per method: fed with each call's final outcome and
  // checked before the call. Per provider: fed with each attempt, checked
  // when choosing.
  std::optional<CircuitBreakerOptions> method_breaker = CircuitBreakerOptions{};
  std::optional<CircuitBreakerOptions> provider_breaker = CircuitBreakerOptions{};
  // Consecutive-failure ejection of providers; nullopt disables.
  std::optional<OutlierDetectorOptions> outlier = OutlierDetectorOptions{};
  // Default deadline of a call whose context sets none; 0: none.
  std::chrono::milliseconds timeout{0};
  // For the per-provider channels (their own `timeout` is not used: the
  // cluster channel sets each attempt's).
  rpc::ChannelOptions channel;
  FallbackHook fallback;
  // Request metadata key whose value is the consistent-hash key.
  std::string hash_key_metadata = "dougong-hash-key";
  // The caller's own zone and host, for "localfirst" (and `host` for
  // condition routing rules).
  std::string zone;
  std::string host;
  // The caller's application name, sent with every call as the metadata
  // `dougong-caller` (unless the caller set it): providers' access lists and
  // per-caller limits, and condition routing rules, match on it.
  std::string application;
  // Live service rules (docs/rules.md): `services/SERVICE/rules` of this
  // config center, or of one made from `rules_url` (zk://...). Weight
  // overrides and routing filter the providers before balancing; consumer
  // flow, concurrency and breaker rules replace the policy's limits and
  // `method_breaker` for the methods they name. Neither set: no rules.
  std::shared_ptr<ConfigCenter> config_center;
  std::string rules_url;
  // Failback calls waiting for a retry; beyond it the error is returned.
  size_t max_failback_pending = 1000;
  // For breakers, ejection, limiters and the retry budget; null: steady clock.
  const Clock* clock = nullptr;
  // A server in this process (Dubbo's injvm): while it is serving and
  // serves this channel's service, calls go to it through
  // Server::InProcessChannel() (no socket, no serialization) instead of a
  // provider; once it stops, they go to the providers. The method's limits
  // and breaker still apply; failover retries and hedges go to providers.
  // Must outlive the channel.
  rpc::Server* in_process_server = nullptr;
  // Show this channel on every server's /status and /metrics
  // (ObservabilityRegistry::Global(), section "cluster/SERVICE").
  bool publish_status = true;

  // INVALID_ARGUMENT naming the first bad field (including the primitives'
  // options and the load balancer's name).
  Status Validate() const;
};

// Snapshot for /status and /metrics.
struct ClusterProviderStatus {
  std::string address;
  int weight = 0;
  int64_t active = 0;
  std::chrono::nanoseconds ewma_latency{0};
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  bool ejected = false;
  std::optional<CircuitBreakerSnapshot> breaker;
};

struct ClusterMethodStatus {
  std::string method;
  FaultTolerance mode = FaultTolerance::kFailover;
  uint64_t calls = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t retries = 0;  // attempts after the first, hedges included
  uint64_t hedges = 0;
  uint64_t rejected = 0;         // by the concurrency or rate limit
  uint64_t short_circuited = 0;  // by the method breaker
  uint64_t fallbacks = 0;        // the hook ran
  uint64_t failsafe_swallowed = 0;
  uint64_t failback_queued = 0;
  uint64_t in_process = 0;  // calls sent to the in-process server
  size_t in_flight = 0;
  std::optional<CircuitBreakerSnapshot> breaker;
};

struct ClusterChannelStatus {
  std::string service;
  std::string load_balancer;
  std::vector<ClusterProviderStatus> providers;
  std::vector<ClusterMethodStatus> methods;
  RetryBudgetSnapshot retry_budget;
  uint64_t failback_pending = 0;
  uint64_t failback_succeeded = 0;
  uint64_t failback_given_up = 0;
  uint64_t failback_retries_failed = 0;  // background attempts that failed
};

// The snapshot as text (one line per provider and per method), for a
// status page or a log.
std::string FormatClusterStatus(const ClusterChannelStatus& status);
// The snapshot as Prometheus samples (dougong_cluster_*, labels service,
// method, provider); docs/cluster.md lists them.
void AppendClusterMetrics(const ClusterChannelStatus& status, MetricFamilies& out);

class ServiceRulesWatch;

class ClusterChannel : public rpc::ChannelInterface {
 public:
  // `naming_url` as NamingService::FromUrl; subscribes to `service`.
  static Result<std::shared_ptr<ClusterChannel>> Create(std::string_view naming_url, std::string_view service,
                                                        ClusterChannelOptions options = {});
  // Shares a naming service (one ZooKeeper session for many channels).
  static Result<std::shared_ptr<ClusterChannel>> Create(std::shared_ptr<NamingService> naming,
                                                        std::string_view service,
                                                        ClusterChannelOptions options = {});
  // Unsubscribes, cancels the calls in flight (their `done` runs before it
  // returns), drops failback calls not yet retried. Not from a callback of
  // this channel.
  ~ClusterChannel() override;

  // Calls may come before the first provider list: they fail with
  // UNAVAILABLE. `done` runs on an I/O thread of the channel, never inside
  // CallMethod. Caller cancellation (ClientContext::Cancel) cancels every
  // attempt in flight.
  void CallMethod(const rpc::MethodSpec& method, rpc::ClientContext* ctx, const Message& request,
                  Message* response, Done done) override;

  // Waits until at least `count` providers are known; false on timeout.
  bool WaitForProviders(size_t count, std::chrono::milliseconds timeout);
  // The providers now, weight overrides applied (null before the first list).
  ProviderSetPtr providers() const;
  // The service rules in force (null: none).
  ServiceRulesPtr rules() const;
  ClusterChannelStatus Snapshot() const;
  const std::string& service() const;

  class Core;
  ClusterChannel(std::shared_ptr<Core> core, std::shared_ptr<NamingService> naming);

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<NamingService> naming_;
  SubscriptionId subscription_ = 0;
  std::unique_ptr<ServiceRulesWatch> rules_watch_;
  ObservabilityHandle status_section_;
};

}  // namespace dougong::cluster
