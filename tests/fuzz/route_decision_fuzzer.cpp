// A request body from the local Network Server (or whoever reaches a routing outbound listener): where
// decide_route() sends it. The body picks the DNS name the proxy will query, so this is the harness for
// "no request can steer the resolver outside the federation suffix".
//
// Input: the request body, as is.
//
// Invariants (proxy/route/route_decision.hpp, docs/federation.md §2 and §7):
//  - a discovered destination's host is the suffix of its kind preceded by exactly 16 one-digit labels
//    (JoinEUI) or one 6-digit label (NetID) of lower-case hex digits, at the configured port; nothing else
//    of the body reaches a DNS name;
//  - a static destination is one of the configured routes' destinations;
//  - a refusal is 400 MalformedRequest or 200 UnkownReceiver, with the matching metric result;
//  - a strictly parsed JoinReq with a valid JoinEUI is always routed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/hex_id.hpp"
#include "fuzz_check.hpp"
#include "proxy/lorawan/lorawan_message.hpp"
#include "proxy/route/route_decision.hpp"

using dance::config::StaticRoute;
using dance::fuzz::escaped;
using namespace dance::proxy;

namespace {

const std::string join_eui_suffix = "joineuis.example";
const std::string net_id_suffix = "netids.example";

dance::config::OutboundListener make_listener() {
    dance::config::OutboundListener listener;
    listener.route.discover = true;
    listener.route.join_eui_suffix = join_eui_suffix;
    listener.route.net_id_suffix = net_id_suffix;
    listener.route.port = 8443;
    listener.routes = {
        {StaticRoute::Match::any_hex, "0807060504030201", {"js.partner.example", 8003}},
        {StaticRoute::Match::join_eui, "70b3d5", {"js.ttn.example", 443}},
        {StaticRoute::Match::net_id, "000505", {"hns.roaming.example", 8004}},
        {StaticRoute::Match::as_id, "as.example.com", {"as.example.com", 8006}},
    };
    return listener;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "f.2.0. ... .0." (16 labels) before the JoinEUI suffix, or "00050a." before the NetID suffix.
bool well_formed_discovered_name(ReceiverKind kind, std::string_view host) {
    const std::string& suffix = kind == ReceiverKind::join_eui ? join_eui_suffix : net_id_suffix;
    if (!host.ends_with("." + suffix)) return false;
    std::string_view labels = host.substr(0, host.size() - suffix.size());
    if (kind == ReceiverKind::join_eui) {
        if (labels.size() != 32) return false;
        for (size_t i = 0; i < 32; i += 2) {
            if (!is_lower_hex(labels[i]) || labels[i + 1] != '.') return false;
        }
        return true;
    }
    if (kind != ReceiverKind::net_id || labels.size() != 7 || labels.back() != '.') return false;
    for (size_t i = 0; i < 6; ++i) {
        if (!is_lower_hex(labels[i])) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const dance::config::OutboundListener listener = make_listener();
    std::string_view body(reinterpret_cast<const char*>(data), size);
    RouteDecision decision = decide_route(listener, body);
    auto context = [&] {
        return "\n  body " + escaped(body) + "\n  kind " + std::string(to_string(decision.kind)) + ", routed " +
               std::to_string(decision.routed) + ", host " + escaped(decision.destination.server.host) + ", refusal " +
               std::to_string(decision.refusal.status) + " " + std::string(decision.refusal.result_code);
    };
    if (decision.routed) {
        const RouteDestination& destination = decision.destination;
        if (destination.discovered) {
            FUZZ_CHECK(well_formed_discovered_name(decision.kind, destination.server.host),
                       "discovered name is not a TS002 name under the suffix" + context());
            FUZZ_CHECK(destination.server.port == listener.route.port, "wrong port" + context());
        } else {
            bool configured = false;
            for (const auto& route : listener.routes) configured = configured || route.destination == destination.server;
            FUZZ_CHECK(configured, "static destination that no route names" + context());
        }
    } else {
        const RouteRefusal& refusal = decision.refusal;
        bool malformed = refusal.status == 400 && refusal.result_code == "MalformedRequest" &&
                         refusal.metric_result == "malformed";
        bool unknown = refusal.status == 200 && refusal.result_code == "UnkownReceiver" &&
                       refusal.metric_result == "unknown_receiver";
        FUZZ_CHECK(malformed || unknown, "refusal outside the specified answers" + context());
    }
    auto strict = parse_backend_message_strictly(body);
    if (strict && strict->message_type == "JoinReq") {
        std::string_view digits = dance::without_hex_prefix(strict->receiver_id);
        if (digits.size() == 16 && dance::all_hex_digits(digits)) {
            FUZZ_CHECK(decision.routed, "a valid JoinReq was not routed" + context());
        }
    }
    return 0;
}
