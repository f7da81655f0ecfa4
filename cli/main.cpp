#include <iostream>
#include <string>

#include <openssl/crypto.h>

#include "cli/commands.hpp"
#include "cli/heap_allocator.hpp"
#include "proxy/tls/raw_public_key.hpp"
#include "version.hpp"

namespace {

// The library actually loaded, and what it allows: raw public keys need OpenSSL 3.2 at build and run time.
std::string version_text() {
    return std::string("dance-sidecar " DANCE_SIDECAR_VERSION " (") + OpenSSL_version(OPENSSL_VERSION) +
           "; raw public keys: " + (dance::proxy::raw_public_keys_supported ? "yes" : "no") +
           "; heap: " + dance::cli::heap_allocator_name() + ")";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"dance-sidecar: DANE client authentication (IETF DANCE) sidecar proxy for TLS 1.3"};
    app.set_version_flag("--version", version_text());
    app.require_subcommand(1);

    int exit_code = dance::cli::exit_ok;
    dance::cli::add_run_command(app, exit_code);
    dance::cli::add_check_command(app, exit_code);
    dance::cli::add_tlsa_command(app, exit_code);
    dance::cli::add_resolve_command(app, exit_code);
    dance::cli::add_probe_command(app, exit_code);

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& done) {
        return app.exit(done);
    } catch (const CLI::ParseError& error) {
        app.exit(error);
        return dance::cli::exit_usage;
    }
    return exit_code;
}
