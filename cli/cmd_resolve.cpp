// `dance-sidecar resolve`: looks up TLSA records the way the proxy does and prints one JSON line per name.
#include <event2/event.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/dns_name.hpp"
#include "cli/commands.hpp"
#include "cli/resolve_route.hpp"
#include "config/config.hpp"
#include "config/config_loader.hpp"
#include "dns/make_resolver.hpp"

namespace dance::cli {
namespace {

struct ResolveOptions {
    std::string config_file;
    std::string mode;
    std::vector<std::string> resolvers;
    std::string trust_anchors;
    std::vector<std::string> root_servers;
    std::string transport;
    std::string tls_auth_name;
    std::string tls_ca_file;
    std::optional<uint32_t> timeout_ms;
    std::vector<std::string> names;
    bool route = false;
    std::string listener;
};

struct EventBaseDeleter {
    void operator()(event_base* base) const { event_base_free(base); }
};

// "127.0.0.1:5353", "[::1]:5353", "::1" or "127.0.0.1" (port 0: the transport's default).
config::HostPort parse_resolver(const std::string& text) {
    config::HostPort result;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) throw std::invalid_argument("missing ] in " + text);
        result.host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') throw std::invalid_argument("expected :PORT after ] in " + text);
            result.port = static_cast<uint16_t>(std::stoul(text.substr(close + 2)));
        }
        return result;
    }
    auto colon = text.find(':');
    if (colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
        result.host = text.substr(0, colon);
        unsigned long port = std::stoul(text.substr(colon + 1));
        if (port == 0 || port > 65535) throw std::invalid_argument("bad port in " + text);
        result.port = static_cast<uint16_t>(port);
    } else {
        result.host = text;
    }
    return result;
}

// Starts from the config file (if any); command line flags override it. Throws on bad input.
config::DnsConfig dns_config_from(const ResolveOptions& options) {
    config::DnsConfig dns;
    if (!options.config_file.empty()) {
        auto loaded = config::load_config(options.config_file);
        if (!loaded.ok()) {
            std::string message;
            for (const auto& error : loaded.errors) message += error.to_string() + "\n";
            throw std::invalid_argument(message);
        }
        dns = loaded.config->dns;
    }
    if (!options.mode.empty()) {
        if (options.mode == "recursive") dns.mode = config::DnsMode::recursive;
        else if (options.mode == "trust-ad" || options.mode == "trust_ad") dns.mode = config::DnsMode::trust_ad;
        else if (options.mode == "validate") dns.mode = config::DnsMode::validate;
        else throw std::invalid_argument("unknown mode " + options.mode);
    }
    if (!options.resolvers.empty()) {
        dns.resolvers.clear();
        for (const auto& text : options.resolvers) dns.resolvers.push_back(parse_resolver(text));
    }
    if (!options.transport.empty()) {
        if (options.transport == "udp") dns.transport = config::DnsTransport::udp;
        else if (options.transport == "tcp") dns.transport = config::DnsTransport::tcp;
        else if (options.transport == "tls") dns.transport = config::DnsTransport::tls;
        else throw std::invalid_argument("unknown transport " + options.transport);
    }
    if (!options.trust_anchors.empty()) dns.trust_anchors = options.trust_anchors;
    if (!options.root_servers.empty()) dns.root_servers = options.root_servers;
    if (!options.tls_auth_name.empty()) dns.tls_auth_name = options.tls_auth_name;
    if (!options.tls_ca_file.empty()) dns.tls_ca_file = options.tls_ca_file;
    if (options.timeout_ms) dns.timeout_ms = *options.timeout_ms;
    return dns;
}

nlohmann::json to_json(const std::string& name, const dns::TlsaResult& result, double ms) {
    nlohmann::json line;
    line["name"] = name;
    line["status"] = std::string(dns::to_string(result.status));
    line["ttl"] = result.ttl;
    line["records"] = nlohmann::json::array();
    for (const auto& record : result.records) line["records"].push_back(record.to_string());
    line["ms"] = std::round(ms * 1000) / 1000;
    if (!result.detail.empty()) line["detail"] = result.detail;
    return line;
}

int resolve_all(const config::DnsConfig& dns_config, const std::vector<std::string>& names) {
    std::unique_ptr<event_base, EventBaseDeleter> base(event_base_new());
    if (!base) throw std::runtime_error("cannot create an event loop");
    auto cache = std::make_shared<dns::TlsaCache>(dns_config.cache);
    auto resolver = dns::make_resolver(base.get(), dns_config, cache);

    std::vector<std::optional<nlohmann::json>> lines(names.size());
    std::vector<dns::PendingLookupPtr> pending;
    size_t remaining = names.size();
    bool all_secure = true;
    for (size_t i = 0; i < names.size(); ++i) {
        auto started = std::chrono::steady_clock::now();
        pending.push_back(resolver->lookup_tlsa(names[i], [&, i, started](const dns::TlsaResult& result) {
            double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
            lines[i] = to_json(names[i], result, ms);
            all_secure = all_secure && result.authenticates();
            if (--remaining == 0) event_base_loopbreak(base.get());
        }));
    }
    event_base_dispatch(base.get());
    for (const auto& line : lines) std::cout << (line ? line->dump() : "{}") << "\n";
    return all_secure ? exit_ok : exit_failure;
}

int run_route_report(const ResolveOptions& options) {
    if (options.config_file.empty()) {
        std::cerr << "dance-sidecar resolve --route: needs --config (the listener's route: and routes:)\n";
        return exit_usage;
    }
    try {
        auto loaded = config::load_config(options.config_file);
        if (!loaded.ok()) throw std::invalid_argument(loaded.errors.front().to_string());
        return resolve_routes(*loaded.config, dns_config_from(options), options.listener, options.names);
    } catch (const std::invalid_argument& error) {
        std::cerr << "dance-sidecar resolve: " << error.what() << "\n";
        return exit_usage;
    } catch (const std::exception& error) {
        std::cerr << "dance-sidecar resolve: " << error.what() << "\n";
        return exit_failure;
    }
}

}  // namespace

void add_resolve_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ResolveOptions>();
    auto* command = app.add_subcommand(
        "resolve", "Look up TLSA records with DNSSEC validation; one JSON line per name, exit 0 if all secure");
    command->add_option("-c,--config", options->config_file, "configuration file (its dns section is used)");
    command->add_option("--mode", options->mode, "recursive | trust-ad | validate (overrides the file)");
    command->add_option("--resolver", options->resolvers, "upstream resolver IP[:PORT] (repeatable)");
    command->add_option("--trust-anchors", options->trust_anchors, "file with the trust anchor DS/DNSKEY records");
    command->add_option("--root-server", options->root_servers, "root server IP for recursive mode (repeatable)");
    command->add_option("--transport", options->transport, "udp | tcp | tls");
    command->add_option("--tls-auth-name", options->tls_auth_name, "resolver name to authenticate over TLS");
    command->add_option("--tls-ca-file", options->tls_ca_file,
                        "PEM CAs that authenticate the resolver over TLS (default: the system store)");
    command->add_option("--timeout-ms", options->timeout_ms, "lookup timeout in milliseconds");
    command->add_flag("--route", options->route,
                      "the arguments are ReceiverIDs (JoinEUI, NetID, as:AS-ID): print the route a routing outbound "
                      "listener of --config takes for each (static route or DNS discovery, CNAMEs, TLSA)");
    command->add_option("--listener", options->listener, "with --route: the outbound listener (default: the only "
                                                         "one with route: or routes:)");
    command->add_option("names", options->names, "TLSA owner names, looked up exactly as given")->required();
    command->callback([options, &exit_code] {
        if (options->route) {
            exit_code = run_route_report(*options);
            return;
        }
        for (const auto& name : options->names) {
            if (std::string reason = dance::why_invalid_name(name); !reason.empty()) {
                std::cerr << "dance-sidecar resolve: invalid name '" << name << "': " << reason << "\n";
                exit_code = exit_usage;
                return;
            }
        }
        config::DnsConfig dns_config;
        try {
            dns_config = dns_config_from(*options);
        } catch (const std::exception& error) {
            std::cerr << "dance-sidecar resolve: " << error.what() << "\n";
            exit_code = exit_usage;
            return;
        }
        try {
            exit_code = resolve_all(dns_config, options->names);
        } catch (const dns::ResolverSetupError& error) {
            std::cerr << "dance-sidecar resolve: " << error.what() << "\n";
            exit_code = exit_usage;
        } catch (const std::exception& error) {
            std::cerr << "dance-sidecar resolve: " << error.what() << "\n";
            exit_code = exit_failure;
        }
    });
}

}  // namespace dance::cli
