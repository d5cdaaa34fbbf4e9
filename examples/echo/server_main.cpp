// Echo server example: serves EchoServiceImpl on the port given as argv[1]
// (default 8000; 0 picks a free one). Prints "listening on PORT" with the
// real port once serving and stops gracefully on SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <dougong/rpc/server.h>

#include "echo_service.h"

int main(int argc, char** argv) {
  const char* port_arg = argc > 1 ? argv[1] : "8000";
  char* end = nullptr;
  long port = std::strtol(port_arg, &end, 10);
  if (*port_arg == '\0' || *end != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "usage: %s [PORT]\n", argv[0]);
    return 2;
  }

  // Block the stop signals before any server thread exists (threads inherit
  // the mask), then wait for them synchronously below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dougong::rpc::Server server;
  dougong::example::EchoServiceImpl service;
  if (auto st = server.AddService(&service); !st.ok()) {
    std::fprintf(stderr, "AddService: %s\n", st.ToString().c_str());
    return 1;
  }
  if (auto st = server.Start(":" + std::to_string(port)); !st.ok()) {
    std::fprintf(stderr, "Start: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("listening on %d\n", server.port());
  std::fflush(stdout);  // stdout may be a file someone is polling

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("signal %d, stopping\n", sig);
  std::fflush(stdout);
  server.Stop(std::chrono::seconds(2));
  server.Wait();
  return 0;
}
