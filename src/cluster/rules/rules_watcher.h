// Follows one service's rules in a config center: each new document is
// parsed, and only documents that parse are passed on. A bad document is
// logged and counted, and the last good rules stay in force; a deleted one
// means no rules.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dougong/cluster/config_center.h"
#include "dougong/cluster/rules.h"

namespace dougong::cluster {

class ServiceRulesWatch {
 public:
  using Apply = std::function<void(const ServiceRulesPtr& rules)>;  // null: no rules

  // `apply` runs at once if the rules are known, then on the config
  // center's thread after each change.
  static Result<std::unique_ptr<ServiceRulesWatch>> Start(std::shared_ptr<ConfigCenter> config,
                                                          std::string service, Apply apply);
  ~ServiceRulesWatch();  // after it returns `apply` is not called again

  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  ServiceRulesWatch(std::shared_ptr<ConfigCenter> config, std::string service, Apply apply)
      : config_(std::move(config)), service_(std::move(service)), apply_(std::move(apply)) {}
  void OnValue(const std::optional<std::string>& value);

  const std::shared_ptr<ConfigCenter> config_;
  const std::string service_;
  const Apply apply_;
  ConfigWatchId id_ = 0;
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace dougong::cluster
