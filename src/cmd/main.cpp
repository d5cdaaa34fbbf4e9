#include <CLI/CLI.hpp>

#include "cmd/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"dougong: RPC, coordination and service governance in one binary"};
  app.require_subcommand(1);
  int exit_code = 0;
  dougong::cmd::AddCallCommand(app, &exit_code);
  dougong::cmd::AddDevCommand(app, &exit_code);
  dougong::cmd::AddZkCommand(app, &exit_code);
  dougong::cmd::AddKeeperCommand(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
