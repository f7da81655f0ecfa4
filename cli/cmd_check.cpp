#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "config/config_loader.hpp"

namespace dance::cli {
namespace {

const char* check_description =
    "Validate a configuration file without starting anything.\n"
    "Reads the YAML, checks every key, address, name and file (certificates are parsed and each key\n"
    "must match its certificate), and prints every mistake as FILE:LINE:COLUMN: KEY.PATH: message.\n"
    "Exit status: 0 valid (a summary is printed), 2 invalid.";

std::string dns_summary(const config::DnsConfig& dns) {
    static const char* modes[] = {"recursive", "trust-ad", "validate"};
    static const char* transports[] = {"udp", "tcp", "tls"};
    std::string text = std::string("dns: mode ") + modes[static_cast<int>(dns.mode)];
    if (dns.mode == config::DnsMode::recursive) {
        if (!dns.root_servers.empty()) text += ", " + std::to_string(dns.root_servers.size()) + " private root server(s)";
        return text;
    }
    text += std::string(" over ") + transports[static_cast<int>(dns.transport)] + " to";
    for (const auto& resolver : dns.resolvers) text += " " + resolver.to_string();
    return text;
}

std::string destination_summary(const config::OutboundListener& out) {
    if (!out.routes_by_receiver()) return out.upstream.to_string();
    std::string summary = "route by ReceiverID (";
    if (out.route.discover) {
        summary += "JoinEUI under " + (out.route.join_eui_suffix.empty() ? "-" : out.route.join_eui_suffix) +
                   ", NetID under " + (out.route.net_id_suffix.empty() ? "-" : out.route.net_id_suffix) +
                   ", port " + std::to_string(out.route.port) + ", ";
    }
    return summary + std::to_string(out.routes.size()) + " static route" + (out.routes.size() == 1 ? "" : "s") + ")";
}

void print_summary(const config::Config& config) {
    static const char* auth_modes[] = {"require", "optional"};
    static const char* server_auths[] = {"dane", "pkix", "dane-or-pkix"};
    std::cout << config.source_file << ": valid\n" << dns_summary(config.dns) << "\n";
    std::cout << "dane_clientid codepoint: " << config.dane_clientid.codepoint << "\n";
    if (config.admin.enabled) std::cout << "admin: " << config.admin.listen.to_string() << "\n";
    for (const auto& in : config.inbound)
        std::cout << "inbound " << in.name << ": " << in.listen.to_string() << " -> " << in.backend.to_string()
                  << ", client_auth " << auth_modes[static_cast<int>(in.client_auth.mode)] << ", "
                  << in.client_auth.allow.size() << " allow entr" << (in.client_auth.allow.size() == 1 ? "y" : "ies")
                  << "\n";
    for (const auto& out : config.outbound)
        std::cout << "outbound " << out.name << ": " << out.listen.to_string() << " -> " << destination_summary(out)
                  << ", server_auth " << server_auths[static_cast<int>(out.server_auth)] << ", client_id "
                  << out.tls.client_id << "\n";
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("check", "Validate a configuration file and print every mistake");
    command->footer(check_description);
    auto path = std::make_shared<std::string>();
    command->add_option("-c,--config", *path, "YAML configuration file")->required();
    command->callback([&exit_code, path] {
        config::LoadResult result = config::load_config(*path);
        if (!result.ok()) {
            for (const auto& error : result.errors) std::cerr << error.to_string() << "\n";
            exit_code = exit_usage;
            return;
        }
        print_summary(*result.config);
        exit_code = exit_ok;
    });
}

}  // namespace dance::cli
