// `dougong dev`: the all-in-one local stack on its embedded defaults. For now
// it serves the example echo service; keeper, gateway and console join later.
#include <csignal>
#include <cstdio>
#include <filesystem>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include "cmd/commands.h"
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

int RunDev(const std::string& address) {
  rpc::Server server;
  example::EchoServiceImpl echo;
  if (Status st = server.AddService(&echo); !st.ok()) {
    fmt::print(stderr, "dougong dev: {}\n", st.ToString());
    return 1;
  }
  if (Status st = server.Start(address); !st.ok()) {
    fmt::print(stderr, "dougong dev: {}\n", st.ToString());
    return 1;
  }
  int port = server.port();
  fmt::print(
      "dougong dev: serving dougong.example.EchoService on port {port}\n"
      "\n"
      "  call it with the native protocol:\n"
      "    {self} call 127.0.0.1:{port} dougong.example.EchoService/Echo '{{\"message\":\"hello\"}}'\n"
      "  or with HTTP/JSON on the same port:\n"
      "    curl -s -X POST http://127.0.0.1:{port}/dougong.example.EchoService/Echo -d '{{\"message\":\"hello\"}}'\n"
      "  built-in pages: http://127.0.0.1:{port}/status  /metrics  /health\n"
      "\n"
      "  Ctrl-C stops it gracefully.\n",
      fmt::arg("port", port), fmt::arg("self", SelfPath()));
  std::fflush(stdout);
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {});
  signals_io.run();
  fmt::print("dougong dev: stopping\n");
  server.Stop(std::chrono::seconds(5));
  return 0;
}
}  // namespace

void AddDevCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("dev", "Run the local all-in-one stack (echo service for now)");
  auto address = std::make_shared<std::string>("127.0.0.1:8000");
  cmd->add_option("--listen", *address, "Address of the RPC/HTTP port")->capture_default_str();
  cmd->callback([address, exit_code] { *exit_code = RunDev(*address); });
}

}  // namespace dougong::cmd
