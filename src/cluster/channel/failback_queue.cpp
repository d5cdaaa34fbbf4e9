#include "cluster/channel/failback_queue.h"

#include <google/protobuf/message.h>
#include <spdlog/spdlog.h>

#include "cluster/channel/channel_core.h"
#include "cluster/channel/cluster_call.h"
#include "cluster/channel/method_state.h"

namespace dougong::cluster {

// A copy of the failed call: the caller's objects are gone by the retry.
struct FailbackQueue::Task {
  std::shared_ptr<MethodState> state;
  std::string service;
  std::string method;
  bool idempotent = false;
  rpc::Metadata metadata;
  Bytes attachment;
  rpc::Compression compression = rpc::Compression::kNone;
  rpc::TraceContext trace;
  std::unique_ptr<google::protobuf::Message> request;
  std::unique_ptr<google::protobuf::Message> response;
  std::unique_ptr<rpc::ClientContext> ctx;  // a fresh one per retry
  int retries_done = 0;
};

bool FailbackQueue::Enqueue(const std::shared_ptr<MethodState>& state, const rpc::MethodSpec& spec,
                            const rpc::ClientContext& ctx, const google::protobuf::Message& request,
                            const google::protobuf::Message& response_prototype) {
  if (core_.closing() || state->policy.failback_retries <= 0) return false;
  // Reserve a slot first so concurrent failures cannot overshoot the bound.
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  auto task = std::make_shared<Task>();
  task->state = state;
  task->service = std::string(spec.service);
  task->method = std::string(spec.method);
  task->idempotent = spec.idempotent;
  task->metadata = ctx.metadata();
  task->attachment = ctx.attachment();
  task->compression = ctx.compression();
  task->trace = ctx.trace();
  task->request.reset(request.New());
  task->request->CopyFrom(request);
  task->response.reset(response_prototype.New());
  Schedule(std::move(task));
  return true;
}

void FailbackQueue::Schedule(std::shared_ptr<Task> task) {
  std::chrono::milliseconds interval = task->state->policy.failback_interval;
  core_.RunAfter(interval, [this, task = std::move(task)]() mutable { Retry(std::move(task)); });
}

void FailbackQueue::Retry(std::shared_ptr<Task> task) {
  auto ctx = std::make_unique<rpc::ClientContext>();
  for (const auto& [k, v] : task->metadata) ctx->AddMetadata(k, v);
  ctx->set_attachment(task->attachment);
  ctx->set_compression(task->compression);
  ctx->set_trace(task->trace);
  ctx->set_timeout(task->state->policy.attempt_timeout);
  task->ctx = std::move(ctx);
  task->response->Clear();
  ++task->retries_done;

  CallArgs args;
  args.service = task->service;
  args.method = task->method;
  args.idempotent = task->idempotent;
  args.ctx = task->ctx.get();
  args.request = task->request.get();
  args.response = task->response.get();
  args.state = task->state;
  args.background = true;
  args.done = [this, task](Status st) {
    if (st.ok()) return Finish(true);
    retries_failed_.fetch_add(1, std::memory_order_relaxed);
    if (task->retries_done < task->state->policy.failback_retries && !core_.closing()) return Schedule(task);
    spdlog::warn("failback {}/{}: gave up after {} retries: {}", task->service, task->method,
                 task->retries_done, st.ToString());
    Finish(false);
  };
  StartClusterCall(core_.shared_from_this(), std::move(args));
}

void FailbackQueue::Finish(bool ok) {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  (ok ? succeeded_ : given_up_).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dougong::cluster
