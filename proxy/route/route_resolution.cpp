#include "proxy/route/route_resolution.hpp"

#include "base/dns_name.hpp"

namespace dance::proxy {
namespace {

// How the address answer ends the route, or "" when it leads somewhere.
std::string_view route_failure(const dns::AddressResult& result) {
    if (result.status == dns::LookupStatus::timeout) return "timeout";
    switch (result.chain_status) {
        case dns::LookupStatus::secure: break;
        case dns::LookupStatus::insecure: return "insecure";
        case dns::LookupStatus::bogus: return "bogus";
        default: return "error";
    }
    if (result.status == dns::LookupStatus::nxdomain || result.status == dns::LookupStatus::nodata) {
        return "unknown_receiver";
    }
    return result.addresses.empty() ? "error" : "";
}

bool provably_absent(const dns::TlsaResult& result) {
    return result.status == dns::LookupStatus::nxdomain || result.status == dns::LookupStatus::nodata;
}

std::string tlsa_owner(const std::string& host, uint16_t port) {
    return "_" + std::to_string(port) + "._tcp." + host;
}

}  // namespace

RouteResolution::RouteResolution(dns::TlsaResolver& resolver, RouteDestination destination, Done done)
    : resolver_(resolver), destination_(std::move(destination)), done_(std::move(done)) {
    lookup_ = resolver_.lookup_addresses(destination_.server.host,
                                         [this](const dns::AddressResult& result) { on_addresses(result); });
}

void RouteResolution::on_addresses(const dns::AddressResult& result) {
    // Insecure NXDOMAIN is reported as the chain's state: what failed is the proof, not the name.
    dns::LookupStatus shown = result.chain_status == dns::LookupStatus::secure || result.status == dns::LookupStatus::timeout
                                  ? result.status
                                  : result.chain_status;
    route_.chain.push_back({"A/AAAA", destination_.server.host, std::string(dns::to_string(shown)), result.ttl,
                            result.addresses, result.detail});
    if (std::string_view failure = route_failure(result); !failure.empty()) {
        route_.failure = failure;
        route_.description = destination_.server.host + ": " + std::string(dns::to_string(result.status)) +
                             " (DNSSEC " + std::string(dns::to_string(result.chain_status)) + ")" +
                             (result.detail.empty() ? "" : ", " + result.detail);
        return finish();
    }
    route_.addresses = result.addresses;
    route_.address_ttl = result.ttl;
    std::string original = lower_case(destination_.server.host);
    if (!result.canonical_name.empty() && result.canonical_name != original) route_.canonical_name = result.canonical_name;
    look_up_tlsa(route_.canonical_name.empty() ? destination_.server.host : route_.canonical_name);
}

void RouteResolution::look_up_tlsa(const std::string& base) {
    route_.tls_base = base;
    route_.tlsa_owner = tlsa_owner(base, destination_.server.port);
    lookup_ = resolver_.lookup_tlsa(route_.tlsa_owner, [this](const dns::TlsaResult& result) { on_tlsa(result); });
}

void RouteResolution::on_tlsa(const dns::TlsaResult& result) {
    RouteStep step{"TLSA", route_.tlsa_owner, std::string(dns::to_string(result.status)), result.ttl, {}, result.detail};
    for (const auto& record : result.records) step.records.push_back(record.to_string());
    route_.chain.push_back(std::move(step));
    // RFC 7671 §7: no TLSA at the CNAME target, so the original name's TLSA records apply. Only a proof of
    // absence moves on: a bogus or failed answer at the target is the answer.
    if (!route_.canonical_name.empty() && route_.tls_base == route_.canonical_name && provably_absent(result)) {
        return look_up_tlsa(destination_.server.host);
    }
    route_.tlsa = result;
    finish();
}

void RouteResolution::finish() {
    Done done = std::move(done_);
    done(std::move(route_));
}

}  // namespace dance::proxy
