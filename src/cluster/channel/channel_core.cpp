#include "cluster/channel/channel_core.h"

#include <chrono>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cluster/channel/fault_tolerance.h"
#include "dougong/rpc/server.h"

namespace dougong::cluster {

namespace asio = boost::asio;

namespace {

const Clock& ClockOf(const ClusterChannelOptions& o) { return o.clock ? *o.clock : SteadyClock::Instance(); }

// How often channels of departed providers are checked for calls in flight.
constexpr std::chrono::milliseconds kSweepInterval{50};

std::vector<std::string> AddressesOf(const ProviderSet& set) {
  std::vector<std::string> out;
  out.reserve(set.size());
  for (const Provider& p : set.providers()) out.push_back(p.address);
  return out;
}

}  // namespace

ClusterChannel::Core::Core(std::string service, ClusterChannelOptions options,
                           std::unique_ptr<LoadBalancer> balancer)
    : service_(std::move(service)),
      options_(std::move(options)),
      clock_(ClockOf(options_)),
      balancer_(std::move(balancer)),
      budget_(options_.retry_budget, clock_),
      timers_(std::make_unique<net::IoPool>(1)),
      // The providers' channels share one set of I/O threads (io_threads of
      // them) unless the caller supplies threads: a thread per provider would
      // cost a wake-up per provider and split the write batches.
      threads_(options_.channel.threads ? options_.channel.threads
                                        : rpc::ChannelThreads::Create(options_.channel.io_threads)),
      failback_(*this, options_.max_failback_pending) {
  if (options_.outlier) outlier_ = std::make_unique<OutlierDetector>(*options_.outlier, clock_);
  if (options_.in_process_server) in_process_ = options_.in_process_server->InProcessChannel();
  timers_->Start();
}

ClusterChannel::Core::~Core() { Shutdown(); }

void ClusterChannel::Core::Update(const ProviderSetPtr& set) {
  if (!set || closing()) return;
  std::vector<std::shared_ptr<rpc::Channel>> to_destroy;
  ProviderSetPtr installed;
  bool sweep = false;
  {
    std::lock_guard lock(mu_);
    discovered_ = set;
    sweep = InstallLocked(&to_destroy);
    installed = set_;
  }
  if (outlier_) outlier_->SetHosts(AddressesOf(*installed));
  to_destroy.clear();
  providers_cv_.notify_all();
  if (sweep) ScheduleSweep();
}

void ClusterChannel::Core::SetRules(const ServiceRulesPtr& rules) {
  if (closing()) return;
  std::vector<std::shared_ptr<MethodState>> methods;
  std::vector<std::shared_ptr<rpc::Channel>> to_destroy;
  bool sweep = false;
  {
    std::lock_guard lock(mu_);
    rules_ = rules;
    if (discovered_) sweep = InstallLocked(&to_destroy);
    for (const auto& [name, m] : methods_) methods.push_back(m);
  }
  to_destroy.clear();
  for (const auto& m : methods) m->ApplyRules(rules.get());
  providers_cv_.notify_all();
  if (sweep) ScheduleSweep();
}

bool ClusterChannel::Core::InstallLocked(std::vector<std::shared_ptr<rpc::Channel>>* to_destroy) {
  ProviderSetPtr old = std::move(set_);
  ProviderSetPtr set = rules_ ? ApplyWeights(*rules_, discovered_) : discovered_;
  set_ = set;
  // Drop what belongs to departed providers; keep the rest (their
  // connections and breaker history).
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (set->Find(it->first)) {
      ++it;
    } else {
      RetireLocked(std::move(it->second), old, it->first);
      it = channels_.erase(it);
    }
  }
  std::erase_if(breakers_, [&](const auto& kv) { return !set->Find(kv.first); });
  if (options_.provider_breaker)
    for (const Provider& p : set->providers())
      if (!breakers_.contains(p.address))
        breakers_.emplace(p.address, std::make_shared<CircuitBreaker>(*options_.provider_breaker, clock_));
  // Channels nobody uses are destroyed outside the lock: that joins their
  // I/O thread, which may be completing an attempt that needs mu_.
  if (CollectIdleLocked(to_destroy) && !sweep_scheduled_) return sweep_scheduled_ = true;
  return false;
}

void ClusterChannel::Core::RetireLocked(std::shared_ptr<rpc::Channel> channel, const ProviderSetPtr& old,
                                        const std::string& address) {
  if (!channel) return;
  Retired r;
  r.channel = std::move(channel);
  if (old)
    if (auto index = old->Find(address)) {
      r.set = old;
      r.index = *index;
    }
  retired_.push_back(std::move(r));
}

bool ClusterChannel::Core::CollectIdleLocked(std::vector<std::shared_ptr<rpc::Channel>>* out) {
  std::erase_if(retired_, [&](Retired& r) {
    // use_count: an attempt being started holds it for CallMethod; active:
    // attempts in flight on the provider (shared by every snapshot with it).
    if (r.channel.use_count() != 1 || (r.set && r.set->stats(r.index).active() > 0)) return false;
    out->push_back(std::move(r.channel));
    return true;
  });
  return !retired_.empty();
}

void ClusterChannel::Core::ScheduleSweep() {
  // Weak: the channel holds the core while it lives; after its Shutdown
  // the timers are gone.
  RunAfter(kSweepInterval, [weak = weak_from_this()] {
    if (auto core = weak.lock()) core->SweepRetired();
  });
}

void ClusterChannel::Core::SweepRetired() {
  std::vector<std::shared_ptr<rpc::Channel>> to_destroy;
  bool again;
  {
    std::lock_guard lock(mu_);
    again = CollectIdleLocked(&to_destroy) && !closing();
    sweep_scheduled_ = again;
  }
  to_destroy.clear();
  if (again) ScheduleSweep();
}

ProviderSetPtr ClusterChannel::Core::snapshot() const {
  std::lock_guard lock(mu_);
  return set_;
}

ServiceRulesPtr ClusterChannel::Core::rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

void ClusterChannel::Core::Snapshot(ProviderSetPtr* set, ServiceRulesPtr* rules) const {
  std::lock_guard lock(mu_);
  *set = set_;
  *rules = rules_;
}

bool ClusterChannel::Core::WaitForProviders(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return providers_cv_.wait_for(lock, timeout, [&] { return set_ && set_->size() >= count; });
}

Result<size_t> ClusterChannel::Core::Select(const ProviderSet& set, const ExclusionSet& tried,
                                            const ExclusionSet* routed_out, std::string_view hash_key, bool ordered,
                                            std::shared_ptr<CircuitBreaker>* breaker, bool* all_blocked) {
  *all_blocked = false;
  ExclusionSet excluded = tried;
  if (routed_out)
    for (size_t i = 0; i < set.size(); ++i)
      if (routed_out->Contains(i)) excluded.Add(i);
  size_t blocked = 0;
  if (outlier_) {
    for (size_t i = 0; i < set.size(); ++i)
      if (!excluded.Contains(i) && outlier_->IsEjected(set[i].address)) {
        excluded.Add(i);
        ++blocked;
      }
  }
  SelectContext ctx;
  ctx.hash_key = hash_key;
  ctx.excluded = &excluded;
  ctx.zone = options_.zone;
  ctx.host = options_.host;
  // Each round either returns or excludes one more provider.
  for (size_t round = 0; round <= set.size(); ++round) {
    Result<size_t> pick = Unavailable("");
    if (ordered) {
      size_t i = 0;
      while (i < set.size() && excluded.Contains(i)) ++i;
      if (i < set.size()) pick = i;
    } else {
      pick = balancer_->Select(set, ctx);
    }
    if (!pick.ok()) break;
    std::shared_ptr<CircuitBreaker> b = BreakerOf(set[*pick].address);
    if (!b || b->Allow()) {
      *breaker = std::move(b);
      return *pick;
    }
    excluded.Add(*pick);  // breaker open: not tried, just unavailable now
    ++blocked;
  }
  *all_blocked = blocked > 0;
  return Unavailable("no provider of " + service_ + " available: " + std::to_string(set.size()) + " known, " +
                     (routed_out ? std::to_string(routed_out->size()) + " routed away by rules, " : "") +
                     std::to_string(tried.size()) + " already tried, " + std::to_string(blocked) +
                     " ejected or behind an open breaker");
}

std::shared_ptr<CircuitBreaker> ClusterChannel::Core::BreakerOf(const std::string& address) const {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(address);
  return it == breakers_.end() ? nullptr : it->second;
}

void ClusterChannel::Core::RecordAttempt(const std::string& address, CircuitBreaker* breaker, Code code) {
  switch (ClassifyHealth(code)) {
    case HealthVerdict::kHealthy:
      if (breaker) breaker->OnSuccess();
      if (outlier_) outlier_->OnSuccess(address);
      break;
    case HealthVerdict::kTimeout:
      if (breaker) breaker->OnTimeout();
      if (outlier_) outlier_->OnFailure(address);
      break;
    case HealthVerdict::kFailure:
      if (breaker) breaker->OnFailure();
      if (outlier_) outlier_->OnFailure(address);
      break;
    case HealthVerdict::kIgnore:
      break;
  }
}

std::shared_ptr<rpc::Channel> ClusterChannel::Core::ChannelFor(const std::string& address) {
  std::lock_guard lock(mu_);
  if (closing()) return nullptr;
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second;
  // A call on an older snapshot must not revive a departed provider's channel.
  if (!set_ || !set_->Find(address)) return nullptr;
  rpc::ChannelOptions o = options_.channel;
  o.timeout = std::chrono::milliseconds(0);  // each attempt carries its own
  o.threads = threads_;
  auto made = rpc::Channel::Create(address, o);
  if (!made.ok()) return nullptr;
  channels_.emplace(address, *made);
  return *made;
}

std::shared_ptr<MethodState> ClusterChannel::Core::Method(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = methods_.find(name);
  if (it != methods_.end()) return it->second;
  auto state = std::make_shared<MethodState>(std::string(name), options_, clock_, rules_.get());
  methods_.emplace(std::string(name), state);
  return state;
}

std::shared_ptr<rpc::ChannelInterface> ClusterChannel::Core::InProcess() {
  if (!in_process_ || closing()) return nullptr;
  rpc::Server& server = *options_.in_process_server;
  if (!server.serving()) return nullptr;
  // Services are fixed once a server serves: look once.
  int serves = in_process_serves_.load(std::memory_order_acquire);
  if (serves < 0) {
    serves = server.HasService(service_) ? 1 : 0;
    in_process_serves_.store(serves, std::memory_order_release);
  }
  return serves ? in_process_ : nullptr;
}

void ClusterChannel::Core::TrackInProcess(rpc::ClientContext* attempt) {
  std::lock_guard lock(in_process_mu_);
  in_process_attempts_.insert(attempt);
}

void ClusterChannel::Core::UntrackInProcess(rpc::ClientContext* attempt) {
  std::lock_guard lock(in_process_mu_);
  in_process_attempts_.erase(attempt);
  if (in_process_attempts_.empty()) in_process_cv_.notify_all();
}

void ClusterChannel::Core::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(timers_mu_);
    if (timers_) {
      asio::post(timers_->at(0), std::move(fn));
      return;
    }
  }
  fn();
}

void ClusterChannel::Core::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::lock_guard lock(timers_mu_);
  if (!timers_) return;
  auto timer = std::make_shared<asio::steady_timer>(timers_->at(0), delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

void ClusterChannel::Core::Shutdown() {
  if (closing_.exchange(true, std::memory_order_acq_rel)) return;
  std::vector<std::shared_ptr<rpc::Channel>> channels;
  {
    std::lock_guard lock(mu_);
    for (auto& [address, channel] : channels_) channels.push_back(std::move(channel));
    channels_.clear();
    for (auto& r : retired_) channels.push_back(std::move(r.channel));
    retired_.clear();
  }
  // In-process attempts: cancelled, and waited for (the server answers a
  // cancel at once, and its Stop completes whatever it still has).
  {
    std::unique_lock lock(in_process_mu_);
    for (rpc::ClientContext* attempt : in_process_attempts_) attempt->Cancel();
    in_process_cv_.wait(lock, [&] { return in_process_attempts_.empty(); });
  }
  // An attempt being started holds its channel for the length of
  // CallMethod; wait for it so the channel is destroyed here.
  for (auto& channel : channels) {
    while (channel.use_count() > 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    channel.reset();  // completes its calls in flight (CANCELLED)
  }
  // Joined here, on the caller's thread: the Core itself may end later on
  // one of these threads (a call completing), which could not join them.
  std::shared_ptr<rpc::ChannelThreads> threads;
  {
    std::lock_guard lock(mu_);
    threads = std::move(threads_);
  }
  threads.reset();
  std::unique_ptr<net::IoPool> timers;
  {
    std::lock_guard lock(timers_mu_);
    timers = std::move(timers_);
  }
  // Stops the thread, then frees the waiting handlers (hedges, failback
  // retries) with the io_context.
  if (timers) timers->Stop();
}

ClusterChannelStatus ClusterChannel::Core::Snapshot() const {
  ClusterChannelStatus s;
  s.service = service_;
  s.load_balancer = std::string(balancer_->name());
  ProviderSetPtr set;
  std::vector<std::shared_ptr<MethodState>> methods;
  {
    std::lock_guard lock(mu_);
    set = set_;
    for (const auto& [name, m] : methods_) methods.push_back(m);
  }
  if (set) {
    for (size_t i = 0; i < set->size(); ++i) {
      ClusterProviderStatus p;
      p.address = (*set)[i].address;
      p.weight = (*set)[i].weight;
      const ProviderStats& st = set->stats(i);
      p.active = st.active();
      p.ewma_latency = st.ewma_latency();
      p.succeeded = st.succeeded();
      p.failed = st.failed();
      p.ejected = outlier_ && outlier_->IsEjected(p.address);
      if (auto b = BreakerOf(p.address)) p.breaker = b->Snapshot();
      s.providers.push_back(std::move(p));
    }
  }
  for (const auto& m : methods) s.methods.push_back(m->Snapshot());
  s.retry_budget = budget_.Snapshot();
  s.failback_pending = failback_.pending();
  s.failback_succeeded = failback_.succeeded();
  s.failback_given_up = failback_.given_up();
  s.failback_retries_failed = failback_.retries_failed();
  return s;
}

}  // namespace dougong::cluster
