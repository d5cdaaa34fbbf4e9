#include "cluster/channel/cluster_call.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include <google/protobuf/message.h>
#include <spdlog/spdlog.h>

#include "cluster/channel/channel_core.h"
#include "cluster/channel/fault_tolerance.h"
#include "cluster/channel/method_state.h"

namespace dougong::cluster {
namespace {

using Message = google::protobuf::Message;
using SteadyClockT = std::chrono::steady_clock;

// Attempt::index of an attempt to the in-process server.
constexpr size_t kInProcess = SIZE_MAX;

// Why a failed call may go to the fallback hook besides a timeout.
enum class LocalCause { kNone, kRejected, kBreakerOpen };

class ClusterCall : public std::enable_shared_from_this<ClusterCall> {
 public:
  ClusterCall(std::shared_ptr<ClusterChannel::Core> core, CallArgs args)
      : core_(std::move(core)),
        args_(std::move(args)),
        spec_{args_.service, args_.method, args_.idempotent},
        policy_(args_.state->policy),
        idempotent_(args_.idempotent || args_.state->listed_idempotent) {
    if (args_.background) policy_.mode = FaultTolerance::kFailfast;
  }

  void Start();

 private:
  struct Attempt {
    size_t index = 0;
    std::shared_ptr<CircuitBreaker> breaker;
    rpc::ClientContext ctx;
    std::unique_ptr<Message> response;
    SteadyClockT::time_point started;
    bool finished = false;   // guarded by mu_
    bool cancelled = false;  // by this call: a loser, or the caller cancelled
  };

  Status Admit();
  // Applies the service rules' routing to set_.
  Status Route(const ServiceRules& rules);
  Status LaunchLocked();
  Status StartSelectedLocked();
  Status StartAttemptLocked(size_t index, std::shared_ptr<CircuitBreaker> breaker);
  Status StartInProcessLocked();
  Status SendLocked(rpc::ChannelInterface& channel, size_t index, std::shared_ptr<CircuitBreaker> breaker);
  const std::string& AddressOf(size_t index) const;
  void OnAttemptDone(Attempt* a, Status st);
  bool MayRetryLocked(const Status& st);
  void ArmHedgeLocked();
  void OnHedgeTimer(int armed_at);
  void OnCallerCancel();
  // Marks the call finished, cancels the attempts still in flight and
  // completes it (on the timer thread when `post`).
  void FinishLocked(std::unique_lock<std::mutex>& lock, Status st, Attempt* winner, bool post);
  void Complete(Status st, Attempt* winner);
  Status OnError(Status st);
  void Bump(std::atomic<uint64_t> MethodCounters::*counter) {
    if (!args_.background) MethodCounters::Bump(args_.state->counters.*counter);
  }

  const std::shared_ptr<ClusterChannel::Core> core_;
  CallArgs args_;
  const rpc::MethodSpec spec_;  // views of args_'s strings
  CallPolicy policy_;
  const bool idempotent_;
  ConcurrencyPermit permit_;
  std::shared_ptr<CircuitBreaker> method_breaker_;  // it let this call through
  bool hook_set_ = false;       // our cancel hook is on the caller's context
  ProviderSetPtr set_;          // one snapshot for every attempt
  ExclusionSet routed_out_;     // providers of set_ the rules keep this call from
  size_t routable_ = 0;         // providers of set_ not routed out
  std::shared_ptr<rpc::ChannelInterface> in_process_;  // the local server, when serving
  std::string hash_key_;
  bool has_deadline_ = false;
  SteadyClockT::time_point deadline_;

  std::mutex mu_;
  bool finished_ = false;
  bool caller_cancelled_ = false;
  LocalCause cause_ = LocalCause::kNone;
  ExclusionSet tried_;
  int attempts_ = 0;
  int in_flight_ = 0;
  Status error_;             // the last failure (broadcast: the first)
  Attempt* winner_ = nullptr;  // broadcast: the first success
  std::vector<std::unique_ptr<Attempt>> attempts_list_;
};

void ClusterCall::Start() {
  Status admitted = Admit();
  if (!admitted.ok()) {
    std::unique_lock lock(mu_);
    FinishLocked(lock, std::move(admitted), nullptr, true);
    return;
  }
  const ClusterChannelOptions& o = core_->options();
  if (const std::string* key = rpc::FindMetadata(args_.ctx->metadata(), o.hash_key_metadata)) hash_key_ = *key;
  std::chrono::milliseconds timeout = args_.ctx->timeout().count() > 0 ? args_.ctx->timeout() : o.timeout;
  if (timeout.count() > 0) {
    has_deadline_ = true;
    deadline_ = SteadyClockT::now() + timeout;
  }
  if (!args_.background) core_->retry_budget().OnRequest();
  auto self = shared_from_this();
  hook_set_ = args_.ctx->SetCancelHook([self] { self->OnCallerCancel(); });
  std::unique_lock lock(mu_);
  if (finished_) return;  // the caller cancelled in between
  if (!hook_set_) {
    caller_cancelled_ = true;
    FinishLocked(lock, Cancelled("call cancelled before it started"), nullptr, true);
    return;
  }
  Status st = LaunchLocked();
  if (!st.ok() && in_flight_ == 0) FinishLocked(lock, std::move(st), nullptr, true);
}

Status ClusterCall::Admit() {
  if (!args_.background) {
    MethodState& m = *args_.state;
    Bump(&MethodCounters::calls);
    // Local limits answer at once: queueing here would only move the
    // overload from the provider to this process.
    if (std::shared_ptr<RateLimiter> rate = m.rate(); rate && !rate->TryAcquire()) {
      Bump(&MethodCounters::rejected);
      cause_ = LocalCause::kRejected;
      return ResourceExhausted("rate limit of " + args_.method + " exceeded");
    }
    permit_ = m.concurrency.TryAcquire();
    if (!permit_) {
      Bump(&MethodCounters::rejected);
      cause_ = LocalCause::kRejected;
      return ResourceExhausted("concurrency limit of " + args_.method + " (" +
                               std::to_string(m.concurrency.limit()) + ") reached");
    }
    if (std::shared_ptr<CircuitBreaker> breaker = m.breaker()) {
      if (!breaker->Allow()) {
        Bump(&MethodCounters::short_circuited);
        cause_ = LocalCause::kBreakerOpen;
        return Unavailable("circuit breaker of " + args_.method + " is open");
      }
      method_breaker_ = std::move(breaker);
    }
  }
  ServiceRulesPtr rules;
  core_->Snapshot(&set_, &rules);
  in_process_ = core_->InProcess();
  if ((!set_ || set_->empty()) && !in_process_) return Unavailable("no provider of " + core_->service() + " known");
  routable_ = set_ ? set_->size() : 0;
  if (rules && routable_ > 0)
    if (Status st = Route(*rules); !st.ok()) return st;
  return Status();
}

Status ClusterCall::Route(const ServiceRules& rules) {
  const ClusterChannelOptions& o = core_->options();
  const rpc::Metadata& md = args_.ctx->metadata();
  RouteRequest r;
  r.method = args_.method;
  const std::string* caller = rpc::FindMetadata(md, kCallerMetadata);
  r.caller = caller ? std::string_view(*caller) : std::string_view(o.application);
  r.caller_host = o.host;
  if (const std::string* tag = rpc::FindMetadata(md, kTagMetadata)) r.tag = *tag;
  r.metadata = &md;
  if (Status st = cluster::Route(rules, *set_, r, &routed_out_); !st.ok())
    return Unavailable(core_->service() + "/" + args_.method + ": " + st.message());
  routable_ = set_->size() - routed_out_.size();
  return Status();
}

Status ClusterCall::LaunchLocked() {
  // The local server first (a broadcast still goes to every provider).
  if (in_process_ && policy_.mode != FaultTolerance::kBroadcast) {
    Status st = StartInProcessLocked();
    if (st.ok() || !set_ || set_->empty()) return st;
  }
  switch (policy_.mode) {
    case FaultTolerance::kBroadcast: {
      // Everyone, whatever their breakers say: a broadcast (cache
      // invalidation, config push) must reach every provider or fail.
      Status first;
      for (size_t i = 0; i < set_->size(); ++i) {
        if (routed_out_.Contains(i)) continue;
        Status st = StartAttemptLocked(i, core_->BreakerOf((*set_)[i].address));
        if (!st.ok() && first.ok()) first = st;
      }
      if (!first.ok() && error_.ok()) error_ = first;
      return in_flight_ > 0 ? Status() : first;
    }
    case FaultTolerance::kForking: {
      int forks = std::clamp<int>(policy_.forks, 1, static_cast<int>(routable_));
      Status st;
      for (int k = 0; k < forks && st.ok(); ++k) st = StartSelectedLocked();
      return in_flight_ > 0 ? Status() : st;
    }
    default: {
      Status st = StartSelectedLocked();
      if (st.ok()) ArmHedgeLocked();
      return st;
    }
  }
}

Status ClusterCall::StartSelectedLocked() {
  if (has_deadline_ && SteadyClockT::now() >= deadline_)
    return DeadlineExceeded("deadline passed after " + std::to_string(attempts_) + " attempts");
  if (!set_ || set_->empty()) return Unavailable("no provider of " + core_->service() + " known");
  // A lone provider may be tried again: there is nowhere else to go.
  if (routable_ == 1) tried_.Clear();
  std::shared_ptr<CircuitBreaker> breaker;
  bool all_blocked = false;
  Result<size_t> pick = core_->Select(*set_, tried_, routed_out_.empty() ? nullptr : &routed_out_, hash_key_,
                                      policy_.mode == FaultTolerance::kAvailable, &breaker, &all_blocked);
  if (!pick.ok()) {
    if (all_blocked && attempts_ == 0) cause_ = LocalCause::kBreakerOpen;
    return pick.status();
  }
  return StartAttemptLocked(*pick, std::move(breaker));
}

const std::string& ClusterCall::AddressOf(size_t index) const {
  static const std::string kInProcessAddress = "in-process";
  return index == kInProcess ? kInProcessAddress : (*set_)[index].address;
}

Status ClusterCall::StartAttemptLocked(size_t index, std::shared_ptr<CircuitBreaker> breaker) {
  const std::string& address = (*set_)[index].address;
  std::shared_ptr<rpc::Channel> channel = core_->ChannelFor(address);
  if (!channel) return Unavailable("provider " + address + " left, or the channel is closed");
  return SendLocked(*channel, index, std::move(breaker));
}

Status ClusterCall::StartInProcessLocked() {
  Status st = SendLocked(*in_process_, kInProcess, nullptr);
  if (st.ok()) Bump(&MethodCounters::in_process);
  return st;
}

Status ClusterCall::SendLocked(rpc::ChannelInterface& channel, size_t index, std::shared_ptr<CircuitBreaker> breaker) {
  auto a = std::make_unique<Attempt>();
  a->index = index;
  a->breaker = std::move(breaker);
  a->response.reset(args_.response->New());
  for (const auto& [k, v] : args_.ctx->metadata()) a->ctx.AddMetadata(k, v);
  const std::string& application = core_->options().application;
  if (!application.empty() && !rpc::FindMetadata(args_.ctx->metadata(), kCallerMetadata))
    a->ctx.AddMetadata(std::string(kCallerMetadata), application);
  a->ctx.set_attachment(args_.ctx->attachment());
  a->ctx.set_compression(args_.ctx->compression());
  a->ctx.set_trace(args_.ctx->trace());
  // The attempt's timeout: its own limit, cut to what is left of the call's
  // deadline, so retries never extend it.
  std::chrono::milliseconds t = policy_.attempt_timeout;
  if (has_deadline_) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - SteadyClockT::now());
    t = t.count() > 0 ? std::min(t, left) : left;
    if (t.count() <= 0) return DeadlineExceeded("deadline passed before attempt " + std::to_string(attempts_ + 1));
  }
  a->ctx.set_timeout(t);
  a->started = SteadyClockT::now();
  if (index != kInProcess) {
    tried_.Add(index);
    set_->stats(index).OnStart();
  } else {
    core_->TrackInProcess(&a->ctx);
  }
  ++in_flight_;
  ++attempts_;
  Attempt* raw = a.get();
  attempts_list_.push_back(std::move(a));
  // Safe under mu_: a channel never runs `done` inside CallMethod.
  channel.CallMethod(spec_, &raw->ctx, *args_.request, raw->response.get(),
                      [self = shared_from_this(), raw](Status st) { self->OnAttemptDone(raw, std::move(st)); });
  return Status();
}

void ClusterCall::OnAttemptDone(Attempt* a, Status st) {
  bool cancelled_by_us;
  {
    std::lock_guard lock(mu_);
    cancelled_by_us = a->cancelled;
  }
  const bool local = a->index == kInProcess;
  // Untracked when this returns: the call's `done` (if this attempt ends
  // it) has run by then, which ~ClusterChannel waits for.
  struct Untrack {
    ClusterChannel::Core* core;
    rpc::ClientContext* ctx;
    ~Untrack() {
      if (ctx) core->UntrackInProcess(ctx);
    }
  } untrack{core_.get(), local ? &a->ctx : nullptr};
  const std::string& address = AddressOf(a->index);
  // CANCELLED we did not ask for: the provider's channel was dropped because
  // it left the registry. For the caller that provider is unavailable.
  if (st.code() == Code::kCancelled && !cancelled_by_us)
    st = Unavailable("provider " + address + " left: " + st.message());
  if (!local) {
    set_->stats(a->index).OnFinish(SteadyClockT::now() - a->started, st.ok());
    if (!cancelled_by_us) core_->RecordAttempt(address, a->breaker.get(), st.code());
  }

  std::unique_lock lock(mu_);
  a->finished = true;
  --in_flight_;
  if (finished_) return;
  // The local server stopped under this call (it refused it, or stopped
  // before answering): nothing was served, so the providers take it, with
  // no retry counted.
  if (local && st.code() == Code::kUnavailable && policy_.mode != FaultTolerance::kBroadcast) {
    if (StartSelectedLocked().ok()) return;
  }
  if (policy_.mode == FaultTolerance::kBroadcast) {
    if (st.ok() && winner_ == nullptr) winner_ = a;
    if (!st.ok() && error_.ok()) error_ = st;
    if (in_flight_ == 0) FinishLocked(lock, error_, error_.ok() ? winner_ : nullptr, false);
    return;
  }
  if (st.ok()) {
    FinishLocked(lock, std::move(st), a, false);
    return;
  }
  error_ = std::move(st);
  if (MayRetryLocked(error_)) {
    Status retry = StartSelectedLocked();
    if (retry.ok()) {
      Bump(&MethodCounters::retries);
      ArmHedgeLocked();
      return;
    }
    // Nothing left to retry on: the attempt's own error says more.
  }
  if (in_flight_ == 0) FinishLocked(lock, error_, nullptr, false);
  // else a fork or a hedge may still win
}

bool ClusterCall::MayRetryLocked(const Status& st) {
  if (has_deadline_ && SteadyClockT::now() >= deadline_) return false;
  const ClusterChannelOptions& o = core_->options();
  switch (policy_.mode) {
    case FaultTolerance::kAvailable:
      // Not up: the next in line. Nothing was served, so no budget needed.
      return st.code() == Code::kUnavailable && tried_.size() < routable_;
    case FaultTolerance::kFailover:
      return attempts_ - 1 < policy_.retries &&
             IsRetryable(st.code(), idempotent_, o.retryable_codes, o.idempotent_retryable_codes) &&
             core_->retry_budget().TryRetry();
    default:
      return false;
  }
}

void ClusterCall::ArmHedgeLocked() {
  if (policy_.mode != FaultTolerance::kFailover || policy_.hedge_delay.count() <= 0 || !idempotent_ ||
      attempts_ - 1 >= policy_.retries)
    return;
  core_->RunAfter(policy_.hedge_delay, [self = shared_from_this(), armed_at = attempts_] {
    self->OnHedgeTimer(armed_at);
  });
}

void ClusterCall::OnHedgeTimer(int armed_at) {
  std::unique_lock lock(mu_);
  // Finished, or a newer attempt (a retry) armed its own timer.
  if (finished_ || attempts_ != armed_at || in_flight_ == 0) return;
  if (attempts_ - 1 >= policy_.retries || !core_->retry_budget().TryRetry()) return;
  if (StartSelectedLocked().ok()) {
    Bump(&MethodCounters::retries);
    Bump(&MethodCounters::hedges);
    ArmHedgeLocked();
  }
}

void ClusterCall::OnCallerCancel() {
  std::unique_lock lock(mu_);
  if (finished_) return;
  caller_cancelled_ = true;
  FinishLocked(lock, Cancelled("call cancelled by the caller"), nullptr, true);
}

void ClusterCall::FinishLocked(std::unique_lock<std::mutex>& lock, Status st, Attempt* winner, bool post) {
  finished_ = true;
  std::vector<Attempt*> losers;
  for (auto& a : attempts_list_)
    if (!a->finished && a.get() != winner) {
      a->cancelled = true;
      losers.push_back(a.get());
    }
  lock.unlock();
  // Outside mu_: a cancel may complete the attempt inline, which locks mu_.
  for (Attempt* a : losers) a->ctx.Cancel();
  if (post) {
    core_->Post([self = shared_from_this(), st = std::move(st), winner]() mutable {
      self->Complete(std::move(st), winner);
    });
  } else {
    Complete(std::move(st), winner);
  }
}

void ClusterCall::Complete(Status st, Attempt* winner) {
  rpc::ClientContext& ctx = *args_.ctx;
  if (winner) {
    args_.response->GetReflection()->Swap(args_.response, winner->response.get());
    ctx.mutable_response_metadata() = winner->ctx.response_metadata();
    ctx.set_response_attachment(winner->ctx.response_attachment());
  }
  if (hook_set_) ctx.SetCancelHook(nullptr);
  if (method_breaker_) {
    switch (ClassifyHealth(st.code())) {
      case HealthVerdict::kHealthy: method_breaker_->OnSuccess(); break;
      case HealthVerdict::kFailure: method_breaker_->OnFailure(); break;
      case HealthVerdict::kTimeout: method_breaker_->OnTimeout(); break;
      case HealthVerdict::kIgnore: break;
    }
  }
  if (!args_.background) st = OnError(std::move(st));
  Bump(st.ok() ? &MethodCounters::succeeded : &MethodCounters::failed);
  permit_.Release();
  auto done = std::move(args_.done);
  done(std::move(st));
}

// What the mode and the fallback hook make of a failed call.
Status ClusterCall::OnError(Status st) {
  if (st.ok() || caller_cancelled_) return st;
  const ClusterChannelOptions& o = core_->options();
  if (o.fallback && (cause_ != LocalCause::kNone || st.code() == Code::kDeadlineExceeded)) {
    Bump(&MethodCounters::fallbacks);
    return o.fallback(spec_, *args_.request, args_.response, st);
  }
  if (policy_.mode == FaultTolerance::kFailsafe) {
    spdlog::warn("failsafe {}/{}: {} (returned OK, empty)", args_.service, args_.method, st.ToString());
    args_.response->Clear();
    Bump(&MethodCounters::failsafe_swallowed);
    return Status();
  }
  if (policy_.mode == FaultTolerance::kFailback && attempts_ > 0 &&
      IsRetryable(st.code(), idempotent_, o.retryable_codes, o.idempotent_retryable_codes) &&
      core_->failback().Enqueue(args_.state, spec_, *args_.ctx, *args_.request, *args_.response)) {
    args_.response->Clear();
    Bump(&MethodCounters::failback_queued);
    return Status();
  }
  return st;
}

}  // namespace

void StartClusterCall(std::shared_ptr<ClusterChannel::Core> core, CallArgs args) {
  std::make_shared<ClusterCall>(std::move(core), std::move(args))->Start();
}

}  // namespace dougong::cluster
