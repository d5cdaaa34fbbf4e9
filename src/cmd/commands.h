// Subcommands of the `dougong` binary.
#pragma once

#include <CLI/CLI.hpp>

namespace dougong::cmd {

// Each adds its subcommand to `app`; the callback runs it and sets *exit_code.
void AddCallCommand(CLI::App& app, int* exit_code);
void AddDevCommand(CLI::App& app, int* exit_code);
void AddZkCommand(CLI::App& app, int* exit_code);
void AddKeeperCommand(CLI::App& app, int* exit_code);
// `keeper members ...` (keeper_members_command.cpp); returns the subcommand.
CLI::App* AddKeeperMembersCommand(CLI::App& keeper, int* exit_code);
// `dougong rules ...` and `dougong config ...`.
void AddRulesCommand(CLI::App& app, int* exit_code);

}  // namespace dougong::cmd
