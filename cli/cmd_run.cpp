#include <iostream>

#include "cli/commands.hpp"
#include "config/config_loader.hpp"
#include "proxy/observe/log_async_writer.hpp"
#include "proxy/runtime/sidecar.hpp"

namespace dance::cli {

void add_run_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand(
        "run", "Run the sidecar: inbound and outbound listeners, admin endpoint. SIGHUP reloads the "
               "configuration and certificates; SIGTERM stops accepting, drains in-flight requests, exits 0.");
    auto path = std::make_shared<std::string>();
    command->add_option("-c,--config", *path, "YAML configuration file")->required();
    command->callback([&exit_code, path] {
        config::LoadResult loaded = config::load_config(*path);
        if (!loaded.ok()) {
            for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
            std::cerr << "dance-sidecar run: refusing to start with an invalid configuration\n";
            exit_code = exit_usage;
            return;
        }
        proxy::log::AsyncLogWriter log_writer;  // event-loop threads never block on stderr
        proxy::Sidecar sidecar(std::move(*loaded.config));
        exit_code = sidecar.run();
    });
}

}  // namespace dance::cli
