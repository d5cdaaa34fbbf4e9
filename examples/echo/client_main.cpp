// Echo client example: calls EchoService.Echo on argv[1] (host:port, default
// 127.0.0.1:8000) with the blocking, coroutine and callback stub forms and
// prints the results. Exits 0 only if all three echoed correctly.
#include <chrono>
#include <cstdio>
#include <exception>
#include <future>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <dougong/rpc/channel.h>

#include "echo.dougong.h"

namespace {

using dougong::example::EchoRequest;
using dougong::example::EchoResponse;
using dougong::example::EchoServiceStub;

constexpr std::chrono::seconds kTimeout{10};

EchoRequest MakeRequest(const std::string& form) {
  EchoRequest req;
  req.set_message("hello from the " + form + " form");
  std::string payload("\0\1\2", 3);  // binary bytes must survive the trip
  payload += form;
  req.set_payload(payload);
  return req;
}

// Prints the outcome of one form; true if the response echoes the request.
bool Report(const char* form, const EchoRequest& req, const dougong::Result<EchoResponse>& r) {
  if (!r.ok()) {
    std::printf("%-10s FAILED: %s\n", form, r.status().ToString().c_str());
    return false;
  }
  bool same = r->message() == req.message() && r->payload() == req.payload();
  std::printf("%-10s %s: \"%s\" (%zu payload bytes)\n", form, same ? "ok" : "WRONG ECHO",
              r->message().c_str(), r->payload().size());
  return same;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target = argc > 1 ? argv[1] : "127.0.0.1:8000";
  auto channel = dougong::rpc::Channel::Create(target);
  if (!channel.ok()) {
    std::fprintf(stderr, "Channel::Create(%s): %s\n", target.c_str(),
                 channel.status().ToString().c_str());
    return 1;
  }
  EchoServiceStub stub(*channel);
  int failures = 0;

  // 1. Blocking, with metadata and an attachment that must come back.
  {
    EchoRequest req = MakeRequest("blocking");
    dougong::rpc::ClientContext ctx;
    ctx.set_timeout(kTimeout);
    ctx.AddMetadata("x-example", "echo");
    ctx.set_attachment(dougong::Bytes::Copy("attached bytes"));
    auto r = stub.Echo(req, &ctx);
    bool ok = Report("blocking", req, r);
    if (ok && (ctx.response_attachment().view() != "attached bytes" ||
               !dougong::rpc::FindMetadata(ctx.response_metadata(), "x-example"))) {
      std::printf("blocking   WRONG ECHO: attachment or metadata not echoed\n");
      ok = false;
    }
    failures += !ok;
  }

  // 2. Coroutine, on an io_context of our own. The result is stored from
  // inside the coroutine (co_spawn cannot hand back a Result<T>, which has no
  // default constructor).
  {
    EchoRequest req = MakeRequest("coroutine");
    std::optional<dougong::Result<EchoResponse>> result;
    boost::asio::io_context io;
    boost::asio::co_spawn(
        io,
        [&]() -> dougong::rpc::Awaitable<void> {
          dougong::rpc::ClientContext ctx;
          ctx.set_timeout(kTimeout);
          result.emplace(co_await stub.CoEcho(req, &ctx));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run();
    failures += !(result && Report("coroutine", req, *result));
  }

  // 3. Callback; the context and request outlive the call.
  {
    EchoRequest req = MakeRequest("callback");
    dougong::rpc::ClientContext ctx;
    ctx.set_timeout(kTimeout);
    std::promise<dougong::Result<EchoResponse>> promise;
    auto future = promise.get_future();
    stub.AsyncEcho(req, &ctx, [&promise](dougong::Result<EchoResponse> r) {
      promise.set_value(std::move(r));
    });
    failures += !Report("callback", req, future.get());
  }

  std::printf("%s\n", failures == 0 ? "all calls succeeded" : "some calls failed");
  return failures == 0 ? 0 : 1;
}
