// gRPC baseline echo server for bench/compare_grpc.sh: serves
// dougong.example.EchoService (examples/echo/echo.proto, compiled with
// grpc_cpp_plugin) with the grpc++ callback API. The payload travels in the
// `payload` field (gRPC has no attachments).
//
//   echo_grpc_server --port=N [--threads=N]
//
// Prints "listening on PORT" once serving (port 0 picks a free port) and stops
// on SIGINT/SIGTERM.
//
// Threads: the callback API runs handlers on gRPC's own internal threads,
// which grpc++ 1.51 does not let the application size. --threads therefore
// caps the thread count only through the ResourceQuota (which bounds gRPC's
// sync/thread-pool threads); the number is recorded so reports can say what
// was asked for.
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "bench_common.h"
#include "echo.grpc.pb.h"

namespace {

using dougong::example::EchoRequest;
using dougong::example::EchoResponse;
using dougong::example::EchoService;

class EchoCallbackService final : public EchoService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const EchoRequest* request,
                                 EchoResponse* response) override {
    response->set_message(request->message());
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gRPC echo server (benchmark baseline)"};
  int port = 0;
  int threads = 0;
  app.add_option("--port", port, "TCP port; 0 picks a free one")->default_val(0);
  app.add_option("--threads", threads, "thread cap via ResourceQuota; 0: gRPC default")
      ->default_val(0);
  CLI11_PARSE(app, argc, argv);

  const sigset_t stop_signals = bench::BlockStopSignals();

  EchoCallbackService service;
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort("0.0.0.0:" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  if (threads > 0) {
    grpc::ResourceQuota quota("echo_grpc_server");
    quota.SetMaxThreads(threads + 1);  // +1: the quota counts the polling thread too
    builder.SetResourceQuota(quota);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "echo_grpc_server: failed to listen on port %d\n", port);
    return 1;
  }
  std::printf("listening on %d\n", bound_port);
  std::fflush(stdout);

  int sig = bench::WaitForStopSignal(stop_signals);
  std::fprintf(stderr, "echo_grpc_server: signal %d, shutting down\n", sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}
