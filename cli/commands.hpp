// Each subcommand registers itself on the CLI11 app; its callback stores the process exit code.
// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
#pragma once

#include <CLI/CLI.hpp>

namespace dance::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

void add_run_command(CLI::App& app, int& exit_code);
void add_check_command(CLI::App& app, int& exit_code);
void add_tlsa_command(CLI::App& app, int& exit_code);
void add_resolve_command(CLI::App& app, int& exit_code);
void add_probe_command(CLI::App& app, int& exit_code);

}  // namespace dance::cli
