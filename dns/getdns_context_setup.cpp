#include "dns/getdns_context_setup.hpp"

#include <arpa/inet.h>
#include <getdns/getdns_extra.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/ip_literal.hpp"
#include "config/pem_files.hpp"

namespace dance::dns {
namespace {

void check(getdns_return_t rc, const std::string& what) {
    if (rc != GETDNS_RETURN_GOOD) {
        const char* reason = getdns_get_errorstr_by_id(rc);
        throw ResolverSetupError(what + ": " + (reason ? reason : "getdns error " + std::to_string(rc)));
    }
}

void set_bindata(getdns_dict* dict, const char* name, const void* data, size_t size) {
    getdns_bindata bindata{size, static_cast<uint8_t*>(const_cast<void*>(data))};
    check(getdns_dict_set_bindata(dict, name, &bindata), std::string("setting ") + name);
}

void set_string(getdns_dict* dict, const char* name, const std::string& text) {
    set_bindata(dict, name, text.data(), text.size());
}

// {address_type, address_data} for an IP literal; throws if `host` is not one.
GetdnsDictPtr address_dict(const std::string& host) {
    auto literal = parse_ip_literal(host);
    if (!literal) throw ResolverSetupError("not an IP address: " + host);
    auto dict = make_getdns_dict();
    set_string(dict.get(), "address_type", literal->family == AF_INET ? "IPv4" : "IPv6");
    set_bindata(dict.get(), "address_data", literal->bytes.data(), literal->size());
    return dict;
}

void append(getdns_list* list, const getdns_dict* dict) {
    size_t length = 0;
    check(getdns_list_get_length(list, &length), "list length");
    check(getdns_list_set_dict(list, length, dict), "list append");
}

void set_upstreams(getdns_context* context, const config::DnsConfig& config) {
    if (config.resolvers.empty()) throw ResolverSetupError("dns.resolvers is empty");
    auto upstreams = make_getdns_list();
    for (const auto& resolver : config.resolvers) {
        auto upstream = address_dict(resolver.host);
        uint16_t port = resolver.port ? resolver.port : (config.transport == config::DnsTransport::tls ? 853 : 53);
        check(getdns_dict_set_int(upstream.get(), "port", port), "upstream port");
        if (config.transport == config::DnsTransport::tls) {
            check(getdns_dict_set_int(upstream.get(), "tls_port", port), "upstream tls_port");
            set_string(upstream.get(), "tls_auth_name", config.tls_auth_name);
        }
        append(upstreams.get(), upstream.get());
    }
    check(getdns_context_set_upstream_recursive_servers(context, upstreams.get()), "dns.resolvers");
}

constexpr uint64_t dot_idle_timeout_ms = 10000;

// getdns reads the CA file only when it first connects, and if it cannot load it, trusts the system
// store instead without a word. So the file is checked here, where a failure still stops the resolver.
void set_tls_ca_file(getdns_context* context, const std::string& path) {
    if (path.empty()) return;  // the system store, as configured
    if (std::string why = config::why_not_a_ca_bundle(path); !why.empty())
        throw ResolverSetupError("dns.tls_ca_file: " + why);
    check(getdns_context_set_tls_ca_file(context, path.c_str()), "dns.tls_ca_file");
    const char* held = nullptr;
    if (getdns_context_get_tls_ca_file(context, &held) != GETDNS_RETURN_GOOD || !held || path != held)
        throw ResolverSetupError("dns.tls_ca_file: getdns did not keep " + path);
}

// DNS over TLS and nothing else: no fallback to plaintext, and a resolver that cannot prove it is
// tls_auth_name (a certificate chaining to tls_ca_file, or the system store) gets no query.
void set_tls_only(getdns_context* context, const config::DnsConfig& config) {
    if (config.tls_auth_name.empty())
        throw ResolverSetupError("transport tls needs dns.tls_auth_name (the name in the resolver's certificate)");
    getdns_transport_list_t tls_only[] = {GETDNS_TRANSPORT_TLS};
    check(getdns_context_set_dns_transport_list(context, 1, tls_only), "dns.transport");
    check(getdns_context_set_tls_authentication(context, GETDNS_AUTHENTICATION_REQUIRED), "dns.tls_auth_name");
    set_tls_ca_file(context, config.tls_ca_file);
    // Keep the connection between lookups: a new one per lookup costs a handshake, and unbound's
    // session tickets ahead of the answer meet Nagle and a delayed ACK (+40 ms per lookup, measured).
    check(getdns_context_set_idle_timeout(context, dot_idle_timeout_ms), "DoT idle timeout");
}

void set_transport(getdns_context* context, const config::DnsConfig& config) {
    getdns_transport_list_t udp_then_tcp[] = {GETDNS_TRANSPORT_UDP, GETDNS_TRANSPORT_TCP};
    getdns_transport_list_t tcp_only[] = {GETDNS_TRANSPORT_TCP};
    switch (config.transport) {
        case config::DnsTransport::udp:
            check(getdns_context_set_dns_transport_list(context, 2, udp_then_tcp), "dns.transport");
            break;
        case config::DnsTransport::tcp:
            check(getdns_context_set_dns_transport_list(context, 1, tcp_only), "dns.transport");
            break;
        case config::DnsTransport::tls:
            set_tls_only(context, config);
            break;
    }
}

void set_trust_anchors(getdns_context* context, const std::string& path) {
    if (path.empty()) return;  // getdns' built-in root anchor
    FilePtr file(std::fopen(path.c_str(), "r"));
    if (!file) throw ResolverSetupError("cannot open dns.trust_anchors " + path + ": " + std::strerror(errno));
    getdns_list* raw = nullptr;
    check(getdns_fp2rr_list(file.get(), &raw, nullptr, 3600), "reading dns.trust_anchors " + path);
    GetdnsListPtr anchors(raw);
    size_t count = 0;
    getdns_list_get_length(anchors.get(), &count);
    if (count == 0) throw ResolverSetupError("no DS or DNSKEY record in dns.trust_anchors " + path);
    check(getdns_context_set_dnssec_trust_anchors(context, anchors.get()), "dns.trust_anchors");
}

// getdns 1.6 copies the name of its root hints file into the context without the terminating NUL, so on
// memory that is not zero it unlinks a wrong name when destroyed and leaves the file in /tmp.
void* zeroed_allocation(size_t size) { return std::calloc(1, size); }

void set_root_servers(getdns_context* context, const std::vector<std::string>& root_servers) {
    if (root_servers.empty()) return;
    auto addresses = make_getdns_list();
    for (const auto& server : root_servers) append(addresses.get(), address_dict(server).get());
    check(getdns_context_set_dns_root_servers(context, addresses.get()), "dns.root_servers");
}

}  // namespace

GetdnsContextPtr make_getdns_context(getdns_eventloop* loop, const config::DnsConfig& config,
                                     size_t max_outstanding_lookups) {
    getdns_context* raw = nullptr;
    check(getdns_context_create_with_memory_functions(&raw, 0, zeroed_allocation, std::realloc, std::free),
          "creating the getdns context");
    GetdnsContextPtr context(raw);
    check(getdns_context_set_eventloop(context.get(), loop), "binding getdns to the event loop");
    check(getdns_context_set_timeout(context.get(), uint64_t{config.timeout_ms} + getdns_timeout_grace_ms),
          "dns.timeout_ms");
    // Never fetch or write root anchors on our own (getdns would otherwise try, into $HOME/.getdns).
    check(getdns_context_set_trust_anchors_verify_CA(context.get(), ""), "trust anchor fetching");
    switch (config.mode) {
        case config::DnsMode::recursive:
            check(getdns_context_set_resolution_type(context.get(), GETDNS_RESOLUTION_RECURSING), "dns.mode");
            set_root_servers(context.get(), config.root_servers);
            set_trust_anchors(context.get(), config.trust_anchors);
            break;
        case config::DnsMode::trust_ad:
            check(getdns_context_set_resolution_type(context.get(), GETDNS_RESOLUTION_STUB), "dns.mode");
            set_upstreams(context.get(), config);
            set_transport(context.get(), config);
            check(getdns_context_set_edns_do_bit(context.get(), 1), "EDNS DO bit");
            break;
        case config::DnsMode::validate:
            check(getdns_context_set_resolution_type(context.get(), GETDNS_RESOLUTION_STUB), "dns.mode");
            set_upstreams(context.get(), config);
            set_transport(context.get(), config);
            set_trust_anchors(context.get(), config.trust_anchors);
            // A validated lookup sends about six queries (DS/DNSKEY chain). We bound lookups ourselves
            // below this limit, so getdns' outstanding-query queue (buggy on cancel in 1.6) stays empty.
            check(getdns_context_set_limit_outstanding_queries(context.get(),
                                                               static_cast<uint16_t>(std::min<size_t>(
                                                                   65535, max_outstanding_lookups * 16))),
                  "outstanding query limit");
            break;
    }
    return context;
}

GetdnsDictPtr make_tlsa_extensions(const config::DnsConfig& config) {
    auto extensions = make_getdns_dict();
    if (config.mode != config::DnsMode::trust_ad) {
        check(getdns_dict_set_int(extensions.get(), "dnssec_return_status", GETDNS_EXTENSION_TRUE),
              "dnssec_return_status");
        // Without this a bogus answer is dropped and looks like NXDOMAIN.
        check(getdns_dict_set_int(extensions.get(), "dnssec_return_all_statuses", GETDNS_EXTENSION_TRUE),
              "dnssec_return_all_statuses");
    }
    return extensions;
}

}  // namespace dance::dns
