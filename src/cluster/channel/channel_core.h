// ClusterChannel::Core: what a cluster channel's calls share: the provider
// snapshot, one rpc::Channel and one breaker per provider address, the
// balancer, ejection, the retry budget, per-method state, the failback queue
// and a timer thread (hedging, failback, completions that must not run on the
// caller's thread). Calls hold it by shared_ptr, so it outlives the
// ClusterChannel while their callbacks finish.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "cluster/channel/failback_queue.h"
#include "cluster/channel/method_state.h"
#include "dougong/cluster/cluster_channel.h"
#include "net/io_pool.h"

namespace dougong::cluster {

class ClusterChannel::Core : public std::enable_shared_from_this<ClusterChannel::Core> {
 public:
  Core(std::string service, ClusterChannelOptions options, std::unique_ptr<LoadBalancer> balancer);
  ~Core();

  // The naming listener: a new provider list.
  void Update(const ProviderSetPtr& set);
  // The rules listener: new service rules (null: none).
  void SetRules(const ServiceRulesPtr& rules);
  // The providers (weight overrides applied) and the rules, taken together.
  ProviderSetPtr snapshot() const;
  ServiceRulesPtr rules() const;
  void Snapshot(ProviderSetPtr* set, ServiceRulesPtr* rules) const;
  bool WaitForProviders(size_t count, std::chrono::milliseconds timeout);

  // Picks a provider not in `tried` that is neither ejected nor behind an
  // open breaker (the breaker's Allow() is taken, so a half-open trial goes
  // to the chosen one). `ordered`: the first such provider in address order
  // ("available") instead of the balancer's choice. Sets *breaker to the
  // provider's breaker (null when disabled). UNAVAILABLE when none is left;
  // *all_blocked tells whether breakers or ejection (not `tried`) left none.
  // `routed_out`: providers the rules keep this call away from (null: none).
  Result<size_t> Select(const ProviderSet& set, const ExclusionSet& tried, const ExclusionSet* routed_out,
                        std::string_view hash_key,
                        bool ordered, std::shared_ptr<CircuitBreaker>* breaker, bool* all_blocked);
  // The breaker of a provider (null when disabled or unknown), for broadcast.
  std::shared_ptr<CircuitBreaker> BreakerOf(const std::string& address) const;
  // Feeds an attempt's result to the provider's breaker and to ejection.
  void RecordAttempt(const std::string& address, CircuitBreaker* breaker, Code code);

  // The channel to `address`, made on first use; null once closing or when
  // the address is not in the current snapshot.
  std::shared_ptr<rpc::Channel> ChannelFor(const std::string& address);
  std::shared_ptr<MethodState> Method(std::string_view name);
  // The in-process server's channel while that server is serving and
  // serves this service (options.in_process_server); null otherwise.
  std::shared_ptr<rpc::ChannelInterface> InProcess();
  // In-process attempts in flight, so Shutdown can cancel them and wait for
  // their completion (the server's channel is not ours to destroy).
  void TrackInProcess(rpc::ClientContext* attempt);
  void UntrackInProcess(rpc::ClientContext* attempt);

  // Runs `fn` on the timer thread (inline once the channel is closed).
  void Post(std::function<void()> fn);
  // Runs `fn` after `delay` on the timer thread; dropped if the channel closes first.
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);

  // Called by ~ClusterChannel: no new attempts, cancels those in flight
  // (destroying the provider channels completes them), stops the timers.
  void Shutdown();
  bool closing() const { return closing_.load(std::memory_order_acquire); }

  ClusterChannelStatus Snapshot() const;

  const std::string& service() const { return service_; }
  const ClusterChannelOptions& options() const { return options_; }
  RetryBudget& retry_budget() { return budget_; }
  FailbackQueue& failback() { return failback_; }

 private:
  // A departed provider's channel, kept until its attempts in flight have
  // finished: a provider deregisters before it drains, so they are answered.
  struct Retired {
    std::shared_ptr<rpc::Channel> channel;
    ProviderSetPtr set;  // the last snapshot with the provider: its live stats
    size_t index = 0;
  };
  void RetireLocked(std::shared_ptr<rpc::Channel> channel, const ProviderSetPtr& old, const std::string& address);
  // Moves the retired channels nobody uses any more to `out` (destroyed by
  // the caller, outside mu_); true when some are left.
  bool CollectIdleLocked(std::vector<std::shared_ptr<rpc::Channel>>* out);
  // Destroys idle retired channels on the timer thread until none is left.
  void SweepRetired();
  void ScheduleSweep();
  // Installs discovered_ with the rules' weights as set_: retires what
  // belongs to departed providers, adds breakers for new ones. True when a
  // sweep of retired channels must be scheduled.
  bool InstallLocked(std::vector<std::shared_ptr<rpc::Channel>>* to_destroy);

  const std::string service_;
  const ClusterChannelOptions options_;
  const Clock& clock_;
  const std::unique_ptr<LoadBalancer> balancer_;
  RetryBudget budget_;
  std::unique_ptr<OutlierDetector> outlier_;  // null: disabled
  std::shared_ptr<rpc::ChannelInterface> in_process_;  // null: no in-process server
  std::atomic<int> in_process_serves_{-1};             // -1: not checked yet (the server was not serving)
  std::mutex in_process_mu_;
  std::condition_variable in_process_cv_;
  std::set<rpc::ClientContext*> in_process_attempts_;  // guarded by in_process_mu_
  std::atomic<bool> closing_{false};

  mutable std::mutex mu_;
  std::condition_variable providers_cv_;
  ProviderSetPtr discovered_;  // as naming delivered it
  ProviderSetPtr set_;         // discovered_ with the rules' weights
  ServiceRulesPtr rules_;
  std::map<std::string, std::shared_ptr<rpc::Channel>, std::less<>> channels_;
  // Channels of departed providers, destroyed here or on the timer thread
  // (never on their own I/O thread, which a channel cannot join) once no
  // attempt is in flight on them.
  std::vector<Retired> retired_;
  bool sweep_scheduled_ = false;
  std::map<std::string, std::shared_ptr<CircuitBreaker>, std::less<>> breakers_;
  std::map<std::string, std::shared_ptr<MethodState>, std::less<>> methods_;

  std::mutex timers_mu_;
  std::unique_ptr<net::IoPool> timers_;  // null once shut down
  std::shared_ptr<rpc::ChannelThreads> threads_;  // the providers' channels'; null once shut down (mu_)

  FailbackQueue failback_;
};

}  // namespace dougong::cluster
