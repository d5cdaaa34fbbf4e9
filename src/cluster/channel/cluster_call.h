// One call through a cluster channel: admission (rate limit, concurrency
// limit, method breaker), then attempts to providers as the method's
// fault-tolerance mode says, until one wins, the mode gives up, the deadline
// passes or the caller cancels. Losing attempts still in flight are
// cancelled. The engine is in cluster_call.cpp.
#pragma once

#include <memory>
#include <string>

#include "dougong/cluster/cluster_channel.h"

namespace dougong::cluster {

struct MethodState;

struct CallArgs {
  std::string service;
  std::string method;
  bool idempotent = false;
  rpc::ClientContext* ctx = nullptr;
  const google::protobuf::Message* request = nullptr;
  google::protobuf::Message* response = nullptr;
  rpc::ChannelInterface::Done done;
  std::shared_ptr<MethodState> state;
  // A failback retry: no admission or counting, one attempt, and its error
  // is returned as is (no failsafe, failback or fallback).
  bool background = false;
};

// `done` runs once, on the timer thread or a provider channel's I/O thread.
void StartClusterCall(std::shared_ptr<ClusterChannel::Core> core, CallArgs args);

}  // namespace dougong::cluster
