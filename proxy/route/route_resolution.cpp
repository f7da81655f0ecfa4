#include "proxy/route/route_resolution.hpp"

#include <algorithm>

#include "base/dns_name.hpp"

namespace dance::proxy {
namespace {

constexpr uint16_t rrtype_naptr = 35;
constexpr uint16_t rrtype_srv = 33;

bool iequals(std::string_view a, std::string_view b) { return lower_case(a) == lower_case(b); }

// TS002 1.0 §19.1: service LWNS is a LoRaWAN server over HTTPS (LWN, plain HTTP, is never used: we only speak
// TLS); flag S leads to an SRV lookup, A to the replacement's addresses. U and P are not supported (yet).
bool usable_naptr(const dns::NaptrRecord& record) {
    return iequals(record.service, "LWNS") && (iequals(record.flags, "S") || iequals(record.flags, "A")) &&
           record.replacement != ".";
}

std::string naptr_text(const dns::NaptrRecord& record) {
    return std::to_string(record.order) + " " + std::to_string(record.preference) + " \"" + record.flags + "\" \"" +
           record.service + "\" \"" + record.regexp + "\" " + record.replacement + ".";
}

std::string srv_text(const dns::SrvRecord& record) {
    return std::to_string(record.priority) + " " + std::to_string(record.weight) + " " + std::to_string(record.port) +
           " " + record.target + (record.target == "." ? "" : ".");
}

// How the address answer ends the route, or "" when it leads somewhere.
std::string_view address_failure(const dns::AddressResult& result) {
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

bool provably_absent(dns::LookupStatus status) {
    return status == dns::LookupStatus::nxdomain || status == dns::LookupStatus::nodata;
}

}  // namespace

RouteResolution::RouteResolution(dns::TlsaResolver& resolver, RouteDestination destination, Done done)
    : resolver_(resolver), destination_(std::move(destination)), done_(std::move(done)) {
    if (!resolver_.looks_up_records()) {
        route_.chain.push_back({"NAPTR", destination_.server.host, "not_queried", 0, {},
                                "dns mode validate: NAPTR/SRV are not looked up (getdns 1.6 aborts validating NAPTR); "
                                "the name's own addresses are used"});
        look_up_addresses(destination_.server);
        return;
    }
    lookup_ = resolver_.lookup_records(destination_.server.host, rrtype_naptr,
                                       [this](const dns::RecordSetResult& result) { on_naptr(result); });
}

void RouteResolution::on_naptr(const dns::RecordSetResult& result) {
    RouteStep step{"NAPTR", destination_.server.host, std::string(dns::to_string(result.status)), result.ttl, {}, result.detail};
    for (const auto& record : result.naptr) step.records.push_back(naptr_text(record));
    route_.chain.push_back(std::move(step));
    if (result.status == dns::LookupStatus::nodata) return look_up_addresses(destination_.server);  // host convention
    if (failed_lookup(result.status, destination_.server.host, result.detail)) return;
    std::vector<dns::NaptrRecord> usable;
    std::copy_if(result.naptr.begin(), result.naptr.end(), std::back_inserter(usable), usable_naptr);
    if (usable.empty()) {
        return fail("no_service", destination_.server.host + ": no NAPTR record with service LWNS (HTTPS) and flag S or A");
    }
    keep_ttl(result.ttl);
    const dns::NaptrRecord& best = *std::min_element(usable.begin(), usable.end(), [](const auto& a, const auto& b) {
        return std::tie(a.order, a.preference) < std::tie(b.order, b.preference);
    });
    if (iequals(best.flags, "A")) return look_up_addresses({best.replacement, destination_.server.port});
    srv_name_ = best.replacement;
    lookup_ = resolver_.lookup_records(srv_name_, rrtype_srv, [this](const dns::RecordSetResult& srv) { on_srv(srv); });
}

void RouteResolution::on_srv(const dns::RecordSetResult& result) {
    RouteStep step{"SRV", srv_name_, std::string(dns::to_string(result.status)), result.ttl, {}, result.detail};
    for (const auto& record : result.srv) step.records.push_back(srv_text(record));
    route_.chain.push_back(std::move(step));
    if (provably_absent(result.status)) return fail("no_service", srv_name_ + ": the NAPTR record leads to no SRV record");
    if (failed_lookup(result.status, srv_name_, result.detail)) return;
    std::vector<dns::SrvRecord> targets;
    std::copy_if(result.srv.begin(), result.srv.end(), std::back_inserter(targets),
                 [](const dns::SrvRecord& record) { return record.target != "."; });
    if (targets.empty()) return fail("unknown_receiver", "SRV target \".\": the service is explicitly not available");
    keep_ttl(result.ttl);
    // RFC 2782: the lowest priority, then the highest weight (a fixed choice, not weighted at random: one
    // destination pool per federation name keeps its connections to one server).
    const dns::SrvRecord& best = *std::min_element(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
        return a.priority != b.priority ? a.priority < b.priority : a.weight > b.weight;
    });
    look_up_addresses({best.target, best.port});
}

void RouteResolution::look_up_addresses(config::HostPort server) {
    route_.server = std::move(server);
    lookup_ = resolver_.lookup_addresses(route_.server.host, [this](const dns::AddressResult& result) { on_addresses(result); });
}

void RouteResolution::on_addresses(const dns::AddressResult& result) {
    // An insecure NXDOMAIN is shown as insecure: what failed is the proof, not the name.
    dns::LookupStatus shown = result.chain_status == dns::LookupStatus::secure || result.status == dns::LookupStatus::timeout
                                  ? result.status
                                  : result.chain_status;
    route_.chain.push_back({"A/AAAA", route_.server.host, std::string(dns::to_string(shown)), result.ttl,
                            result.addresses, result.detail});
    if (std::string_view failure = address_failure(result); !failure.empty()) {
        return fail(failure, route_.server.host + ": " + std::string(dns::to_string(result.status)) + " (DNSSEC " +
                                 std::string(dns::to_string(result.chain_status)) + ")" +
                                 (result.detail.empty() ? "" : ", " + result.detail));
    }
    route_.addresses = result.addresses;
    keep_ttl(result.ttl);
    std::string host = lower_case(route_.server.host);
    if (!result.canonical_name.empty() && result.canonical_name != host) route_.canonical_name = result.canonical_name;
    look_up_tlsa(route_.canonical_name.empty() ? route_.server.host : route_.canonical_name);
}

void RouteResolution::look_up_tlsa(const std::string& base) {
    route_.tls_base = base;
    route_.tlsa_owner = dns::tlsa_owner_name(base, route_.server.port);
    lookup_ = resolver_.lookup_tlsa(route_.tlsa_owner, [this](const dns::TlsaResult& result) { on_tlsa(result); });
}

void RouteResolution::on_tlsa(const dns::TlsaResult& result) {
    RouteStep step{"TLSA", route_.tlsa_owner, std::string(dns::to_string(result.status)), result.ttl, {}, result.detail};
    for (const auto& record : result.records) step.records.push_back(record.to_string());
    route_.chain.push_back(std::move(step));
    // RFC 7671 §7: no TLSA at the CNAME target, so the host name's TLSA records apply. Only a proof of absence
    // moves on: a bogus or failed answer at the target is the answer.
    if (!route_.canonical_name.empty() && route_.tls_base == route_.canonical_name && provably_absent(result.status)) {
        return look_up_tlsa(route_.server.host);
    }
    route_.tlsa = result;
    finish();
}

// A NAPTR or SRV answer that is neither secure with records nor a proof of absence ends the route.
bool RouteResolution::failed_lookup(dns::LookupStatus status, const std::string& name, const std::string& detail) {
    switch (status) {
        case dns::LookupStatus::secure: return false;
        case dns::LookupStatus::nxdomain: fail("unknown_receiver", name + ": no such name (DNSSEC-validated)"); return true;
        case dns::LookupStatus::nodata: fail("no_service", name + ": no record (DNSSEC-validated)"); return true;
        default: break;
    }
    fail(dns::to_string(status), name + ": " + std::string(dns::to_string(status)) + (detail.empty() ? "" : ", " + detail));
    return true;
}

void RouteResolution::fail(std::string_view failure, std::string description) {
    route_.failure = failure;
    route_.description = std::move(description);
    finish();
}

void RouteResolution::keep_ttl(uint32_t ttl) {
    route_.ttl = ttl_set_ ? std::min(route_.ttl, ttl) : ttl;
    ttl_set_ = true;
}

void RouteResolution::finish() {
    Done done = std::move(done_);
    done(std::move(route_));
}

}  // namespace dance::proxy
