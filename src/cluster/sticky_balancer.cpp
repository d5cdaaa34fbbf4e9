#include "cluster/sticky_balancer.h"

namespace dougong::cluster {

Result<size_t> StickyBalancer::Select(const ProviderSet& providers, const SelectContext& ctx) {
  std::shared_ptr<const std::string> last = last_.load(std::memory_order_acquire);
  if (last != nullptr) {
    std::optional<size_t> i = providers.Find(*last);
    if (i && !ctx.IsExcluded(*i) && providers[*i].weight > 0) return *i;
  }
  Result<size_t> chosen = inner_->Select(providers, ctx);
  if (chosen.ok() && (last == nullptr || *last != providers[*chosen].address)) {
    last_.store(std::make_shared<const std::string>(providers[*chosen].address),
                std::memory_order_release);
  }
  return chosen;
}

}  // namespace dougong::cluster
