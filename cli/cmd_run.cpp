#include <iostream>

#include "cli/commands.hpp"

namespace dance::cli {

void add_run_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("run", "not implemented yet");
    command->callback([&exit_code] {
        std::cerr << "dance-sidecar run: not implemented yet\n";
        exit_code = exit_failure;
    });
}

}  // namespace dance::cli
