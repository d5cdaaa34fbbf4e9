// Dougong echo server for the benchmarks: serves the example EchoService
// (examples/echo, target dougong_echo) with dougong::rpc::Server.
//
//   echo_server --port=N [--threads=N] [--registry=zk://HOST:PORT/dougong]
//
// With --registry the server registers EchoService once it serves and
// deregisters it before draining on SIGINT/SIGTERM (the provider side of
// bench/compare_cluster.sh's deregistration timing).
//
// --threads sets ServerOptions::io_threads (0: one per core). Prints
// "listening on PORT" once serving (port 0 picks a free port and prints the
// real one) and stops gracefully on SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "dougong/cluster/server_publisher.h"
#include "dougong/rpc/server.h"
#include "bench_common.h"
#include "echo_service.h"

int main(int argc, char** argv) {
  CLI::App app{"Dougong echo server (benchmark target)"};
  int port = 0;
  int threads = 0;
  app.add_option("--port", port, "TCP port; 0 picks a free one")->default_val(0);
  app.add_option("--threads", threads, "I/O threads (ServerOptions::io_threads); 0: one per core")
      ->default_val(0);
  std::string registry_url;
  app.add_option("--registry", registry_url, "register with this registry (zk://...)");
  CLI11_PARSE(app, argc, argv);

  const sigset_t stop_signals = bench::BlockStopSignals();

  dougong::rpc::ServerOptions options;
  options.io_threads = threads;
  dougong::rpc::Server server(options);
  dougong::example::EchoServiceImpl service;
  if (auto st = server.AddService(&service); !st.ok()) {
    std::fprintf(stderr, "echo_server: AddService: %s\n", st.ToString().c_str());
    return 1;
  }
  // Registers once serving, deregisters when Stop begins (before the drain).
  std::unique_ptr<dougong::cluster::ServerPublisher> publisher;
  if (!registry_url.empty()) {
    auto p = dougong::cluster::ServerPublisher::Attach(server, registry_url);
    if (!p.ok()) {
      std::fprintf(stderr, "echo_server: --registry: %s\n", p.status().ToString().c_str());
      return 1;
    }
    publisher = std::move(p).value();
  }
  if (auto st = server.Start(":" + std::to_string(port)); !st.ok()) {
    std::fprintf(stderr, "echo_server: Start: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("listening on %d\n", server.port());
  std::fflush(stdout);

  int sig = bench::WaitForStopSignal(stop_signals);
  std::fprintf(stderr, "echo_server: signal %d, shutting down\n", sig);
  server.Stop(std::chrono::seconds(2));
  server.Wait();
  return 0;
}
