#include <iostream>

#include "cli/commands.hpp"

namespace dance::cli {

void add_tlsa_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("tlsa", "not implemented yet");
    command->callback([&exit_code] {
        std::cerr << "dance-sidecar tlsa: not implemented yet\n";
        exit_code = exit_failure;
    });
}

}  // namespace dance::cli
