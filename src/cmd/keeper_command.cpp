// `dougong keeper`: the ZooKeeper-compatible coordination server, from a YAML
// config file with the common settings overridable by flags.
#include <csignal>
#include <chrono>
#include <cstdio>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cmd/commands.h"
#include "dougong/keeper/cluster.h"
#include "keeper/config.h"

namespace dougong::cmd {

namespace {

struct KeeperFlags {
  std::string config;
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> data_dir;
  std::optional<int> admin_port;
  std::optional<int> tick_ms;
  std::optional<uint64_t> snap_count;
  bool extended_types = false;
  bool repair = false;
  int64_t initial_zxid = 0;
};

int RunKeeper(const KeeperFlags& f) {
  keeper::KeeperOptions options;
  if (!f.config.empty()) {
    Result<keeper::KeeperOptions> loaded = keeper::LoadKeeperConfig(f.config);
    if (!loaded.ok()) {
      fmt::print(stderr, "dougong keeper: {}\n", loaded.status().message());
      return 2;
    }
    options = *loaded;
  }
  if (f.host) options.host = *f.host;
  if (f.port) options.port = *f.port;
  if (f.data_dir) options.data_dir = *f.data_dir;
  if (f.admin_port) options.admin_port = *f.admin_port;
  if (f.tick_ms) options.tick_ms = *f.tick_ms;
  if (f.snap_count) options.snap_count = *f.snap_count;
  if (f.extended_types) options.extended_types = true;
  if (f.repair) options.repair = true;
  if (f.initial_zxid > 0) options.initial_zxid = f.initial_zxid;

  Result<std::unique_ptr<keeper::KeeperServer>> server = keeper::StartKeeper(options);
  if (!server.ok()) {
    fmt::print(stderr, "dougong keeper: {}\n", server.status().ToString());
    return 1;
  }
  spdlog::info("keeper: {}", (*server)->recovery_summary());
  fmt::print("dougong keeper: serving the ZooKeeper protocol on {}:{} (data dir {})\n", options.host,
             (*server)->port(), options.data_dir);
  if (options.cluster.enabled()) {
    std::string peer;
    for (const auto& m : options.cluster.members)
      if (m.id == options.cluster.id) peer = m.peer;
    fmt::print("dougong keeper: member {} of {}, peers on {}\n", options.cluster.id, options.cluster.members.size(),
               peer);
  }
  if ((*server)->admin_port() > 0) {
    fmt::print("dougong keeper: admin HTTP on {}:{} (/health /metrics, POST /snapshot)\n", options.admin_host,
               (*server)->admin_port());
  }
  std::fflush(stdout);
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {});
  signals_io.run();
  fmt::print("dougong keeper: stopping\n");
  std::fflush(stdout);
  // Every acknowledged write is already on disk, so a stop that hangs (a
  // stuck peer, a stuck disk) may safely end the process instead.
  std::thread watchdog([] {
    std::this_thread::sleep_for(std::chrono::seconds(20));
    fmt::print(stderr, "dougong keeper: stop did not finish in 20 s; exiting\n");
    std::_Exit(1);
  });
  watchdog.detach();
  (*server)->Stop();
  return 0;
}

}  // namespace

void AddKeeperCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("keeper", "Run keeper, the ZooKeeper-compatible coordination server");
  auto f = std::make_shared<KeeperFlags>();
  cmd->add_option("--config", f->config, "YAML config file (docs/keeper.md)");
  cmd->add_option("--host", f->host, "Client listen address (default 0.0.0.0)");
  cmd->add_option("--port", f->port, "Client port (default 2181; 0 = any free port)");
  cmd->add_option("--data-dir", f->data_dir, "Log and snapshot directory (default ./data)");
  cmd->add_option("--admin-port", f->admin_port, "HTTP admin port (default 8081; 0 = off)");
  cmd->add_option("--tick-ms", f->tick_ms, "ZooKeeper tickTime in ms (default 2000)");
  cmd->add_option("--snap-count", f->snap_count, "Transactions between snapshots (default 100000)");
  cmd->add_flag("--extended-types", f->extended_types, "Enable TTL nodes (zookeeper.extendedTypesEnabled)");
  cmd->add_flag("--repair", f->repair, "Truncate the log at a damaged record instead of refusing to start");
  cmd->add_option("--initial-zxid", f->initial_zxid, "Testing: first zxid of an empty data dir");
  CLI::App* members = AddKeeperMembersCommand(*cmd, exit_code);
  cmd->callback([f, exit_code, members] {
    if (members->parsed()) return;
    *exit_code = RunKeeper(*f);
  });
}

}  // namespace dougong::cmd
