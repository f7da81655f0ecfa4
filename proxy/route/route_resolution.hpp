// The DNS walk of a discovered route (docs/federation.md §4, without NAPTR/SRV for now): the addresses of the
// federation name, which must be DNSSEC-secure CNAMEs included, then its TLSA records per RFC 7671 §7 (at the
// CNAME target first; at the original name when the target provably has none). Used by the destination's
// connector and by `dance-sidecar resolve --route`, so both walk the same way.
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
    std::string type;    // "A/AAAA", "TLSA"
    std::string name;
    std::string status;  // secure, insecure, bogus, nxdomain, nodata, timeout, error
    uint32_t ttl = 0;
    std::vector<std::string> records;  // addresses, or TLSA records in presentation form
    std::string detail;
};

struct ResolvedRoute {
    std::string failure;      // "" when the route leads to a server; else unknown_receiver, insecure, bogus,
                              // timeout or error (dance_route_lookups_total's result)
    std::string description;  // why it failed, for logs and the answer
    std::vector<std::string> addresses;
    uint32_t address_ttl = 0;
    std::string canonical_name;  // where the CNAME chain ends ("" = no CNAME)
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
    void on_addresses(const dns::AddressResult& result);
    void look_up_tlsa(const std::string& base);
    void on_tlsa(const dns::TlsaResult& result);
    void finish();

    dns::TlsaResolver& resolver_;
    RouteDestination destination_;
    Done done_;
    ResolvedRoute route_;
    dns::PendingLookupPtr lookup_;
};

}  // namespace dance::proxy
