// Where a routing outbound listener sends one Backend Interfaces request, decided from its body alone: a
// static route, a name to discover under the federation suffix (TS002 1.0 §19.1), or a refusal with the
// answer TS002 assigns (docs/federation.md §7). No DNS here: the discovery runs in the destination's connector.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "proxy/lorawan/receiver_route.hpp"

namespace dance::proxy {

struct RouteDestination {
    config::HostPort server;  // the host: SNI and TLSA base; for a discovered route, the federation name
    bool discovered = false;  // found by DNS: the address chain must be DNSSEC-secure, TLSA per RFC 7671 §7

    // The pool of connections this destination uses.
    std::string key() const { return (discovered ? "dns:" : "static:") + server.to_string(); }
};

struct RouteRefusal {
    int status = 400;
    std::string_view result_code;  // "MalformedRequest", "UnkownReceiver" (TS002 Table 24 spelling)
    std::string_view metric_result;  // "malformed", "unknown_receiver"
    std::string description;
};

struct RouteDecision {
    ReceiverKind kind = ReceiverKind::unknown;
    std::string message_type;
    bool routed = false;
    RouteDestination destination;  // when routed
    RouteRefusal refusal;          // when not
};

// Reads MessageType and ReceiverID strictly (a header field named twice, in any case, is malformed).
RouteDecision decide_route(const config::OutboundListener& listener, std::string_view body);

// The longest static route matching the normalized ReceiverID of `kind`; nullptr when none does.
const config::StaticRoute* match_static_route(const std::vector<config::StaticRoute>& routes, ReceiverKind kind,
                                              std::string_view receiver_id);

}  // namespace dance::proxy
