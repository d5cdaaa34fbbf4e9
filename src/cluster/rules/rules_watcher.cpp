#include "cluster/rules/rules_watcher.h"

#include <spdlog/spdlog.h>

namespace dougong::cluster {

Result<std::unique_ptr<ServiceRulesWatch>> ServiceRulesWatch::Start(std::shared_ptr<ConfigCenter> config,
                                                                    std::string service, Apply apply) {
  if (!config) return InvalidArgument("rules: no config center");
  std::unique_ptr<ServiceRulesWatch> w(new ServiceRulesWatch(std::move(config), std::move(service), std::move(apply)));
  Result<ConfigWatchId> id = w->config_->Watch(ServiceRulesKey(w->service_),
                                               [raw = w.get()](const std::optional<std::string>& v) { raw->OnValue(v); });
  if (!id.ok()) return id.status();
  w->id_ = *id;
  return w;
}

ServiceRulesWatch::~ServiceRulesWatch() {
  if (id_ != 0) (void)config_->Unwatch(id_);
}

void ServiceRulesWatch::OnValue(const std::optional<std::string>& value) {
  if (!value) {
    apply_(nullptr);
    return;
  }
  Result<ServiceRules> parsed = ParseServiceRules(*value);
  if (!parsed.ok()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("rules of {} refused, keeping the last good ones: {}", service_, parsed.status().message());
    return;
  }
  apply_(std::make_shared<const ServiceRules>(std::move(*parsed)));
}

}  // namespace dougong::cluster
