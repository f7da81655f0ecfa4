#include "config/name_values.hpp"
#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

std::string_view mode_name(DnsMode mode) {
    switch (mode) {
        case DnsMode::recursive: return "recursive";
        case DnsMode::trust_ad: return "trust-ad";
        case DnsMode::validate: return "validate";
    }
    return "?";
}

bool read_resolvers(LoadContext& context, const YAML::Node& node, const std::string& path,
                    std::vector<HostPort>& out) {
    std::vector<std::string> texts;
    if (!read_string_list(context, node, path, texts)) return false;
    bool all_valid = true;
    for (size_t i = 0; i < texts.size(); ++i) {
        HostPort resolver;
        if (!host_port_value(HostRule::ip_only)(context, node[i], index_path(path, i), resolver)) {
            all_valid = false;
            continue;
        }
        out.push_back(resolver);
    }
    return all_valid;
}

bool read_optional_host_name(LoadContext& context, const YAML::Node& node, const std::string& path,
                             std::string& out) {
    if (node.IsScalar() && node.Scalar().empty()) return true;
    return read_host_name(context, node, path, out);
}

bool read_root_servers(LoadContext& context, const YAML::Node& node, const std::string& path,
                       std::vector<std::string>& out) {
    std::vector<std::string> texts;
    if (!read_string_list(context, node, path, texts)) return false;
    bool all_valid = true;
    for (size_t i = 0; i < texts.size(); ++i) {
        std::string address = canonical_ip(texts[i]);
        if (address.empty()) {
            context.report(node[i].Mark(), index_path(path, i),
                           "invalid IP address \"" + texts[i] + "\" (root servers are given without a port)");
            all_valid = false;
            continue;
        }
        out.push_back(address);
    }
    return all_valid;
}

void check_mode_fits_upstreams(LoadContext& context, const YamlMap& dns, const DnsConfig& config) {
    std::string mode(mode_name(config.mode));
    if (config.mode == DnsMode::recursive) {
        if (!config.resolvers.empty())
            context.report(dns.path_of("resolvers"), "resolvers are not used in mode recursive "
                                                     "(set mode: trust-ad or validate to query them)");
        return;
    }
    if (!config.root_servers.empty())
        context.report(dns.path_of("root_servers"), "root_servers are only used in mode recursive");
    if (config.resolvers.empty())
        context.report(dns.path_of("mode"), "mode " + mode + " needs at least one entry in dns.resolvers");
}

// The AD bit only means something if nobody between us and the resolver can set it.
void check_ad_bit_path(LoadContext& context, const YamlMap& dns, const DnsConfig& config) {
    if (config.mode != DnsMode::trust_ad || config.transport == DnsTransport::tls) return;
    std::string transport = config.transport == DnsTransport::udp ? "udp" : "tcp";
    for (size_t i = 0; i < config.resolvers.size(); ++i) {
        if (is_loopback_ip(config.resolvers[i].host)) continue;
        context.report(index_path(dns.path_of("resolvers"), i),
                       "resolver " + config.resolvers[i].to_string() + " is not on loopback: mode trust-ad over " +
                           transport + " is refused, the AD bit is only as good as the path "
                           "(use a resolver on loopback, transport: tls, or mode: validate)");
    }
}

// Set, even if invalid (that was reported already); "" means not set.
bool is_set(const YamlMap& map, std::string_view key) {
    const YAML::Node* node = map.value(key);
    return node && !(node->IsScalar() && node->Scalar().empty());
}

void check_transport(LoadContext& context, const YamlMap& dns, const DnsConfig& config) {
    bool has_auth_name = is_set(dns, "tls_auth_name");
    if (config.transport == DnsTransport::tls && !has_auth_name)
        context.report(dns.path_of("transport"),
                       "transport tls needs tls_auth_name (the name in the resolver's certificate)");
    if (config.transport != DnsTransport::tls) {
        if (has_auth_name)
            context.report(dns.path_of("tls_auth_name"), "tls_auth_name is only used with transport: tls");
        if (is_set(dns, "tls_ca_file"))
            context.report(dns.path_of("tls_ca_file"), "tls_ca_file is only used with transport: tls");
    }
    if (config.mode == DnsMode::trust_ad && !config.trust_anchors.empty())
        context.report(dns.path_of("trust_anchors"),
                       "trust_anchors are not used in mode trust-ad (the resolver validates)");
}

}  // namespace

void read_dns(const YamlMap& root, DnsConfig& out) {
    YamlMap dns = root.child("dns", {"resolvers", "mode", "root_servers", "trust_anchors", "transport",
                                     "tls_auth_name", "tls_ca_file", "timeout_ms", "cache"});
    LoadContext& context = dns.context();
    bool resolvers_valid = true;
    if (dns.value("resolvers")) resolvers_valid = dns.read("resolvers", out.resolvers, read_resolvers);
    bool mode_valid = !dns.value("mode") ||
                      dns.read("mode", out.mode,
                               one_of<DnsMode>({{"recursive", DnsMode::recursive}, {"trust-ad", DnsMode::trust_ad},
                                                {"validate", DnsMode::validate}}));
    dns.read("root_servers", out.root_servers, read_root_servers);
    read_file_path(dns, "trust_anchors", out.trust_anchors, false);
    bool transport_valid =
        !dns.value("transport") ||
        dns.read("transport", out.transport,
                 one_of<DnsTransport>(
                     {{"udp", DnsTransport::udp}, {"tcp", DnsTransport::tcp}, {"tls", DnsTransport::tls}}));
    dns.read("tls_auth_name", out.tls_auth_name, read_optional_host_name);
    read_file_path(dns, "tls_ca_file", out.tls_ca_file, true);
    dns.read("timeout_ms", out.timeout_ms, integer_between<uint32_t>(1, 60000));
    YamlMap cache = dns.child("cache", {"max_entries", "max_ttl_s", "negative_ttl_s"});
    cache.read("max_entries", out.cache.max_entries, integer_between<uint32_t>(0, 100000000));
    cache.read("max_ttl_s", out.cache.max_ttl_s, integer_between<uint32_t>(0, 7 * 86400));
    cache.read("negative_ttl_s", out.cache.negative_ttl_s, integer_between<uint32_t>(0, 86400));

    if (!mode_valid || !resolvers_valid || !transport_valid) return;  // avoid follow-up noise
    check_mode_fits_upstreams(context, dns, out);
    check_ad_bit_path(context, dns, out);
    check_transport(context, dns, out);
}

}  // namespace dance::config
