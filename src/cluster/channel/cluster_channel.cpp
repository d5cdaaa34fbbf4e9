#include "dougong/cluster/cluster_channel.h"

#include <fmt/format.h>

#include "cluster/channel/channel_core.h"
#include "cluster/channel/cluster_call.h"
#include "cluster/channel/method_state.h"
#include "cluster/rules/rules_watcher.h"

namespace dougong::cluster {
namespace {

Status CheckPolicy(const CallPolicy& p, const std::string& where) {
  auto bad = [&](std::string_view what) { return InvalidArgument(where + ": " + std::string(what)); };
  if (p.retries < 0) return bad("retries must be >= 0");
  if (p.forks < 1) return bad("forks must be >= 1");
  if (p.attempt_timeout.count() < 0) return bad("attempt_timeout must be >= 0");
  if (p.hedge_delay.count() < 0) return bad("hedge_delay must be >= 0");
  if (!(p.rate_limit_qps >= 0) || !(p.rate_limit_burst >= 0)) return bad("rate limits must be >= 0");
  if (p.failback_interval.count() <= 0) return bad("failback_interval must be > 0");
  if (p.failback_retries < 0) return bad("failback_retries must be >= 0");
  return Status();
}

}  // namespace

Status ClusterChannelOptions::Validate() const {
  if (Status st = CheckPolicy(policy, "policy"); !st.ok()) return st;
  for (const auto& [name, p] : method_policies)
    if (Status st = CheckPolicy(p, "method_policies[" + name + "]"); !st.ok()) return st;
  if (auto lb = NewLoadBalancer(load_balancer, balancer); !lb.ok()) return lb.status();
  if (timeout.count() < 0) return InvalidArgument("timeout must be >= 0");
  if (Status st = retry_budget.Validate(); !st.ok()) return st;
  if (method_breaker)
    if (Status st = method_breaker->Validate(); !st.ok()) return st;
  if (provider_breaker)
    if (Status st = provider_breaker->Validate(); !st.ok()) return st;
  if (outlier)
    if (Status st = outlier->Validate(); !st.ok()) return st;
  return Status();
}

Result<std::shared_ptr<ClusterChannel>> ClusterChannel::Create(std::string_view naming_url, std::string_view service,
                                                               ClusterChannelOptions options) {
  auto naming = NamingService::FromUrl(naming_url);
  if (!naming.ok()) return naming.status();
  return Create(std::move(*naming), service, std::move(options));
}

Result<std::shared_ptr<ClusterChannel>> ClusterChannel::Create(std::shared_ptr<NamingService> naming,
                                                               std::string_view service,
                                                               ClusterChannelOptions options) {
  if (!naming) return InvalidArgument("no naming service");
  if (service.empty()) return InvalidArgument("empty service name");
  if (Status st = options.Validate(); !st.ok()) return st;
  auto balancer = NewLoadBalancer(options.load_balancer, options.balancer);
  if (!balancer.ok()) return balancer.status();
  auto core = std::make_shared<Core>(std::string(service), std::move(options), std::move(*balancer));
  auto channel = std::make_shared<ClusterChannel>(core, naming);
  // The listener holds the core weakly: the channel unsubscribes before the
  // core goes, but a notification already running must not keep it alive.
  std::weak_ptr<Core> weak = core;
  auto id = naming->Subscribe(service, [weak](const ProviderSetPtr& set) {
    if (auto c = weak.lock()) c->Update(set);
  });
  if (!id.ok()) return id.status();
  channel->subscription_ = *id;
  std::shared_ptr<ConfigCenter> config = core->options().config_center;
  if (!config && !core->options().rules_url.empty()) {
    auto made = ConfigCenter::Create(core->options().rules_url);
    if (!made.ok()) return Status(made.status().code(), "rules_url: " + made.status().message());
    config = std::move(*made);
  }
  if (config) {
    auto watch = ServiceRulesWatch::Start(config, std::string(service), [weak](const ServiceRulesPtr& rules) {
      if (auto c = weak.lock()) c->SetRules(rules);
    });
    if (!watch.ok()) return watch.status();
    channel->rules_watch_ = std::move(*watch);
  }
  if (core->options().publish_status) {
    // Weak: the handle goes first in ~ClusterChannel, but the core must not
    // be kept alive by a page either.
    channel->status_section_ = ObservabilityRegistry::Global().Add(
        "cluster/" + core->service(),
        [weak] {
          auto c = weak.lock();
          return c ? FormatClusterStatus(c->Snapshot()) : std::string();
        },
        [weak](MetricFamilies& out) {
          if (auto c = weak.lock()) AppendClusterMetrics(c->Snapshot(), out);
        });
  }
  return channel;
}

ClusterChannel::ClusterChannel(std::shared_ptr<Core> core, std::shared_ptr<NamingService> naming)
    : core_(std::move(core)), naming_(std::move(naming)) {}

ClusterChannel::~ClusterChannel() {
  rules_watch_.reset();
  status_section_.Reset();
  if (subscription_ != 0) (void)naming_->Unsubscribe(subscription_);
  core_->Shutdown();
}

void ClusterChannel::CallMethod(const rpc::MethodSpec& method, rpc::ClientContext* ctx, const Message& request,
                                Message* response, Done done) {
  CallArgs args;
  args.service = std::string(method.service);
  args.method = std::string(method.method);
  args.idempotent = method.idempotent;
  args.ctx = ctx;
  args.request = &request;
  args.response = response;
  args.done = std::move(done);
  args.state = core_->Method(method.method);
  StartClusterCall(core_, std::move(args));
}

bool ClusterChannel::WaitForProviders(size_t count, std::chrono::milliseconds timeout) {
  return core_->WaitForProviders(count, timeout);
}

ProviderSetPtr ClusterChannel::providers() const { return core_->snapshot(); }
ServiceRulesPtr ClusterChannel::rules() const { return core_->rules(); }
ClusterChannelStatus ClusterChannel::Snapshot() const { return core_->Snapshot(); }
const std::string& ClusterChannel::service() const { return core_->service(); }

}  // namespace dougong::cluster
