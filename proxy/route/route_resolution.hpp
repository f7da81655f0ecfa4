// The DNS walk of a discovered route (docs/federation.md §4), DNSSEC-secure at every step:
//  1. NAPTR at the federation name (TS002 1.0 §19.1): the best record with service LWNS (HTTPS) and flag S
//     (then SRV at its replacement: target and port) or A (its replacement is the host, at route.port);
//     no NAPTR at all (secure NODATA): the name itself is the host, at route.port (ChirpStack's and The Things
//     Stack's convention);
//  2. the host's addresses, CNAMEs included;
//  3. its TLSA records per RFC 7671 §7 (and RFC 7673 for an SRV target): at the CNAME target first, at the host
//     name when the target provably has none.
// Used by the destination's connector and by `dance-sidecar resolve --route`, so both walk the same way.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/tlsa_resolver.hpp"
#include "proxy/route/route_decision.hpp"

namespace dance::proxy {

// One DNS answer of the walk, for display.
struct RouteStep {
    std::string type;    // "NAPTR", "SRV", "A/AAAA", "TLSA"
    std::string name;
    std::string status;  // secure, insecure, bogus, nxdomain, nodata, timeout, error
    uint32_t ttl = 0;
    std::vector<std::string> records;  // records in presentation form, or addresses
    std::string detail;
};

struct ResolvedRoute {
    std::string failure;      // "" when the route leads to a server; else unknown_receiver, no_service, insecure,
                              // bogus, timeout or error (dance_route_lookups_total's result)
    std::string description;  // why it failed, for logs and the answer
    config::HostPort server;  // the host the route leads to and the port to dial
    std::vector<std::string> addresses;
    uint32_t ttl = 0;            // the shortest lifetime of the answers that led here (NAPTR, SRV, addresses)
    std::string canonical_name;  // where the host's CNAME chain ends ("" = no CNAME)
    std::string tls_base;        // SNI and DANE base domain: the name whose TLSA records apply
    std::string tlsa_owner;      // _<port>._tcp.<tls_base>
    dns::TlsaResult tlsa;        // the answer the server is authenticated with (server_auth decides)
    std::vector<RouteStep> chain;
};

class RouteResolution {
public:
    using Done = std::function<void(ResolvedRoute)>;

    // `done` runs once, from the resolver's loop, never inside the constructor. Destroying the object first
    // cancels it.
    RouteResolution(dns::TlsaResolver& resolver, RouteDestination destination, Done done);
    RouteResolution(const RouteResolution&) = delete;
    RouteResolution& operator=(const RouteResolution&) = delete;

private:
    void on_naptr(const dns::RecordSetResult& result);
    void on_srv(const dns::RecordSetResult& result);
    void look_up_addresses(config::HostPort server);
    void on_addresses(const dns::AddressResult& result);
    void look_up_tlsa(const std::string& base);
    void on_tlsa(const dns::TlsaResult& result);
    bool failed_lookup(dns::LookupStatus status, const std::string& name, const std::string& detail);
    void fail(std::string_view failure, std::string description);
    void keep_ttl(uint32_t ttl);
    void finish();

    dns::TlsaResolver& resolver_;
    RouteDestination destination_;
    Done done_;
    ResolvedRoute route_;
    std::string srv_name_;
    bool ttl_set_ = false;
    dns::PendingLookupPtr lookup_;
};

}  // namespace dance::proxy
