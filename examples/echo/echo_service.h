// The example echo service: served by `dougong dev`, by bench/echo_server and
// by the examples built against the installed package.
#pragma once

#include "echo.dougong.h"

namespace dougong::example {

// Echoes message, payload and attachment. Runs as a coroutine on the I/O
// thread (no thread hop); sleep_ms waits on a timer that cancellation aborts.
class EchoServiceImpl : public EchoServiceBase {
 public:
  EchoServiceImpl() : EchoServiceBase(::dougong::rpc::HandlerMode::kCoroutine) {}
  ::dougong::rpc::Awaitable<::dougong::Status> CoEcho(::dougong::rpc::ServerContext& ctx,
                                                      const EchoRequest& request,
                                                      EchoResponse* response) override;
};

}  // namespace dougong::example
