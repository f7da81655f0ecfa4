#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "base/dns_name.hpp"
#include "cli/commands.hpp"
#include "config/pem_files.hpp"
#include "dns/tlsa_from_cert.hpp"

namespace dance::cli {
namespace {

const char* tlsa_description =
    "Print the TLSA record that matches a certificate, to publish in a DNSSEC-signed zone.\n"
    "Default parameters 3 1 1: DANE-EE, SubjectPublicKeyInfo, SHA-256.\n"
    "The file may hold a chain (leaf first, as TLS sends it). Usages 1 and 3 (end entity) use the\n"
    "first certificate; usages 0 and 2 (trust anchor) use the last one, the top of the chain.\n"
    "Examples:\n"
    "  dance-sidecar tlsa --cert ns.pem --name _ns-client.ns.operator-a.example\n"
    "    _ns-client.ns.operator-a.example. 3600 IN TLSA 3 1 1 <sha256 of the public key>\n"
    "  dance-sidecar tlsa --cert chain.pem --usage 2 --selector 0\n"
    "    2 0 1 <sha256 of the top certificate>";

struct TlsaOptions {
    std::string cert;
    int usage = 3;
    int selector = 1;
    int matching = 1;
    std::string name;
    uint32_t ttl = 3600;
};

std::string owner_with_dot(const std::string& name) {
    std::string owner = name.ends_with(".") ? name.substr(0, name.size() - 1) : name;
    std::string checked = owner.starts_with("*.") ? owner.substr(2) : owner;
    if (std::string why = dance::why_invalid_name(checked); !why.empty())
        throw std::invalid_argument("invalid --name \"" + name + "\": " + why);
    return owner + ".";
}

int print_tlsa(const TlsaOptions& options) {
    config::CertificateChain chain = config::read_certificate_chain(options.cert);
    if (!chain.error.empty()) {
        std::cerr << "dance-sidecar tlsa: " << chain.error << "\n";
        return exit_usage;
    }
    bool trust_anchor = options.usage == 0 || options.usage == 2;
    X509* certificate = (trust_anchor ? chain.certificates.back() : chain.certificates.front()).get();
    try {
        std::string prefix = options.name.empty() ? "" : owner_with_dot(options.name) + " " +
                                                             std::to_string(options.ttl) + " IN TLSA ";
        dns::TlsaRecord record = dns::tlsa_for_certificate(certificate, static_cast<uint8_t>(options.usage),
                                                           static_cast<uint8_t>(options.selector),
                                                           static_cast<uint8_t>(options.matching));
        std::cout << prefix << record.to_string() << "\n";
    } catch (const std::invalid_argument& error) {
        std::cerr << "dance-sidecar tlsa: " << error.what() << "\n";
        return exit_usage;
    } catch (const std::exception& error) {
        std::cerr << "dance-sidecar tlsa: " << error.what() << "\n";
        return exit_failure;
    }
    return exit_ok;
}

}  // namespace

void add_tlsa_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("tlsa", "Print the TLSA record for a certificate");
    command->footer(tlsa_description);
    auto options = std::make_shared<TlsaOptions>();
    command->add_option("--cert", options->cert, "PEM certificate file (or chain, leaf first)")->required();
    command->add_option("--usage", options->usage, "0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE")
        ->check(CLI::Range(0, 3))
        ->capture_default_str();
    command->add_option("--selector", options->selector, "0 full certificate, 1 SubjectPublicKeyInfo")
        ->check(CLI::Range(0, 1))
        ->capture_default_str();
    command->add_option("--matching", options->matching, "0 exact, 1 SHA-256, 2 SHA-512")
        ->check(CLI::Range(0, 2))
        ->capture_default_str();
    command->add_option("--name", options->name,
                        "owner name; prints a full zone-file line (e.g. _ns-client.ns.example or "
                        "_8003._tcp.js.example)");
    command->add_option("--ttl", options->ttl, "TTL for the zone-file line")->capture_default_str();
    command->callback([&exit_code, options] { exit_code = print_tlsa(*options); });
}

}  // namespace dance::cli
