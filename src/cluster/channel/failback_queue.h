// FailbackQueue: the calls a failback method could not make, retried in the
// background every `failback_interval`, at most `failback_retries` times
// each (Dubbo's failback). The request, metadata and attachment are copied,
// since the caller got its answer long ago. Kept in memory only: a process
// restart loses them, which is why failback suits notifications and logs,
// not payments. Bounded by max_failback_pending.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dougong/cluster/cluster_channel.h"

namespace dougong::cluster {

struct MethodState;

class FailbackQueue {
 public:
  FailbackQueue(ClusterChannel::Core& core, size_t max_pending) : core_(core), max_pending_(max_pending) {}

  // Copies the call and schedules its first retry; false when full.
  bool Enqueue(const std::shared_ptr<MethodState>& state, const rpc::MethodSpec& spec,
               const rpc::ClientContext& ctx, const google::protobuf::Message& request,
               const google::protobuf::Message& response_prototype);

  uint64_t pending() const { return pending_.load(std::memory_order_relaxed); }
  uint64_t succeeded() const { return succeeded_.load(std::memory_order_relaxed); }
  uint64_t given_up() const { return given_up_.load(std::memory_order_relaxed); }
  uint64_t retries_failed() const { return retries_failed_.load(std::memory_order_relaxed); }

 private:
  struct Task;
  void Schedule(std::shared_ptr<Task> task);
  void Retry(std::shared_ptr<Task> task);
  void Finish(bool ok);

  ClusterChannel::Core& core_;
  const size_t max_pending_;
  std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> succeeded_{0};
  std::atomic<uint64_t> given_up_{0};
  std::atomic<uint64_t> retries_failed_{0};  // background attempts that failed
};

}  // namespace dougong::cluster
