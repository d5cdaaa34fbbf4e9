// Prints every provider list a consumer receives, with the wall-clock time it
// arrived, until SIGINT/SIGTERM:
//
//   naming_watch --naming=zk://127.0.0.1:2181/dougong --service=pkg.Service
//   t_ns=1764108000123456789 providers=2 addresses=127.0.0.1:4001,127.0.0.1:4002
//
// bench/compare_cluster.sh kills or stops a provider, notes the time, and
// reads here when the consumer stopped seeing it (same machine, same clock).
#include <time.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <string>

#include "bench_common.h"
#include "dougong/cluster/naming.h"

namespace {

int64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prints the provider lists a naming service delivers"};
  std::string url, service;
  app.add_option("--naming", url, "naming URL (zk://, list://, file://, dns://)")->required();
  app.add_option("--service", service, "service name")->required();
  CLI11_PARSE(app, argc, argv);

  const sigset_t stop_signals = bench::BlockStopSignals();
  auto naming = dougong::cluster::NamingService::FromUrl(url);
  if (!naming.ok()) {
    std::fprintf(stderr, "naming_watch: %s\n", naming.status().ToString().c_str());
    return 2;
  }
  auto id = (*naming)->Subscribe(service, [](const dougong::cluster::ProviderSetPtr& set) {
    std::string addresses;
    for (const auto& p : set->providers()) addresses += (addresses.empty() ? "" : ",") + p.address;
    std::printf("t_ns=%lld providers=%zu addresses=%s\n", static_cast<long long>(RealtimeNs()),
                set->providers().size(), addresses.c_str());
    std::fflush(stdout);
  });
  if (!id.ok()) {
    std::fprintf(stderr, "naming_watch: Subscribe: %s\n", id.status().ToString().c_str());
    return 2;
  }
  bench::WaitForStopSignal(stop_signals);
  (*naming)->Unsubscribe(*id);
  return 0;
}
