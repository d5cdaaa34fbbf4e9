// `dougong dev`: the all-in-one local stack on its embedded defaults: keeper
// (ZooKeeper protocol) and the example echo service, registered in that
// keeper (zk://.../dougong) and governed by its live rules (docs/rules.md);
// gateway and console join later.
#include <csignal>
#include <cstdio>
#include <filesystem>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include "cmd/commands.h"
#include "dougong/cluster/config_center.h"
#include "dougong/cluster/server_governor.h"
#include "dougong/cluster/server_publisher.h"
#include "dougong/keeper/server.h"
#include "dougong/rpc/server.h"
#include "echo_service.h"

namespace dougong::cmd {

namespace {
// How to name this binary in the printed commands: relative to the working
// directory when that is shorter (e.g. ./build/release/src/dougong).
std::string SelfPath() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "dougong";
  auto rel = std::filesystem::relative(exe, std::filesystem::current_path(ec), ec);
  if (ec || rel.empty()) return exe.string();
  std::string r = rel.string();
  return r.size() < exe.string().size() ? (r.starts_with(".") ? r : "./" + r) : exe.string();
}

struct DevFlags {
  std::string address = "127.0.0.1:8000";
  std::string keeper_host = "127.0.0.1";
  int keeper_port = 2181;
  int keeper_admin_port = 8081;
  std::string data_dir = "./data";
};

int RunDev(const DevFlags& f) {
  keeper::KeeperOptions ko;
  ko.host = f.keeper_host;
  ko.port = f.keeper_port;
  ko.admin_port = f.keeper_admin_port;
  ko.data_dir = f.data_dir + "/keeper";
  ko.extended_types = true;
  Result<std::unique_ptr<keeper::KeeperServer>> keeper = keeper::KeeperServer::Start(ko);
  if (!keeper.ok()) {
    fmt::print(stderr, "dougong dev: keeper: {}\n", keeper.status().ToString());
    return 1;
  }
  const std::string& address = f.address;
  const std::string registry = fmt::format("zk://127.0.0.1:{}/dougong", (*keeper)->port());
  rpc::Server server;
  example::EchoServiceImpl echo;
  // Declared after the server's dependencies and before nothing that
  // outlives them: the server stops (deregistering) before they go.
  cluster::ServerGovernor governor;
  auto fail = [](const Status& st) {
    fmt::print(stderr, "dougong dev: {}\n", st.ToString());
    return 1;
  };
  if (Status st = server.AddService(&echo); !st.ok()) return fail(st);
  auto config = cluster::ConfigCenter::Create(registry);
  if (!config.ok()) return fail(config.status());
  if (Status st = governor.Govern(*config, "dougong.example.EchoService"); !st.ok()) return fail(st);
  if (Status st = server.AddAdmissionHook(governor.AdmissionHook()); !st.ok()) return fail(st);
  auto publisher = cluster::ServerPublisher::Attach(server, registry);
  if (!publisher.ok()) return fail(publisher.status());
  if (Status st = server.Start(address); !st.ok()) return fail(st);
  int port = server.port();
  fmt::print(
      "dougong dev: serving dougong.example.EchoService on port {port}\n"
      "\n"
      "  call it with the native protocol:\n"
      "    {self} call 127.0.0.1:{port} dougong.example.EchoService/Echo '{{\"message\":\"hello\"}}'\n"
      "  or with HTTP/JSON on the same port:\n"
      "    curl -s -X POST http://127.0.0.1:{port}/dougong.example.EchoService/Echo -d '{{\"message\":\"hello\"}}'\n"
      "  built-in pages: http://127.0.0.1:{port}/status  /metrics  /health\n"
      "  registered in {registry} (services/dougong.example.EchoService/providers);\n"
      "  live rules: {self} rules set dougong.example.EchoService FILE --registry {registry}\n"
      "\n"
      "dougong dev: keeper (ZooKeeper protocol) on port {kport}, data in {kdir}\n"
      "  any ZooKeeper client works, e.g. zkCli.sh -server 127.0.0.1:{kport}\n"
      "  four-letter words: echo srvr | nc 127.0.0.1 {kport}\n"
      "{kadmin}"
      "\n"
      "  Ctrl-C stops it gracefully.\n",
      fmt::arg("port", port), fmt::arg("self", SelfPath()), fmt::arg("kport", (*keeper)->port()),
      fmt::arg("kdir", ko.data_dir), fmt::arg("registry", registry),
      fmt::arg("kadmin", (*keeper)->admin_port() > 0
                             ? fmt::format("  keeper admin: http://127.0.0.1:{}/metrics  /health\n",
                                           (*keeper)->admin_port())
                             : std::string()));
  std::fflush(stdout);
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {});
  signals_io.run();
  fmt::print("dougong dev: stopping\n");
  server.Stop(std::chrono::seconds(5));
  (*keeper)->Stop();
  return 0;
}
}  // namespace

void AddDevCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("dev", "Run the local all-in-one stack: keeper and the echo service");
  auto f = std::make_shared<DevFlags>();
  cmd->add_option("--listen", f->address, "Address of the RPC/HTTP port")->capture_default_str();
  cmd->add_option("--keeper-port", f->keeper_port, "keeper's ZooKeeper port (0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--keeper-admin-port", f->keeper_admin_port, "keeper's admin HTTP port (0 = off)")
      ->capture_default_str();
  cmd->add_option("--data-dir", f->data_dir, "Where the stack keeps its data")->capture_default_str();
  cmd->callback([f, exit_code] { *exit_code = RunDev(*f); });
}

}  // namespace dougong::cmd
