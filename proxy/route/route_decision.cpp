#include "proxy/route/route_decision.hpp"

#include "proxy/lorawan/lorawan_answer.hpp"
#include "proxy/lorawan/lorawan_message.hpp"

namespace dance::proxy {
namespace {

using config::StaticRoute;

RouteDecision refuse(RouteDecision decision, int status, std::string_view result_code, std::string_view metric_result,
                     std::string description) {
    decision.refusal = {status, result_code, metric_result, std::move(description)};
    return decision;
}

RouteDecision malformed(RouteDecision decision, std::string description) {
    return refuse(std::move(decision), 400, "MalformedRequest", "malformed", std::move(description));
}

RouteDecision unknown(RouteDecision decision, std::string description) {
    return refuse(std::move(decision), 200, unknown_receiver_result_code, "unknown_receiver", std::move(description));
}

RouteDecision routed(RouteDecision decision, config::HostPort server, bool discovered) {
    decision.routed = true;
    decision.destination = {std::move(server), discovered};
    return decision;
}

bool kind_matches(StaticRoute::Match match, ReceiverKind kind) {
    switch (match) {
        case StaticRoute::Match::any_hex: return kind == ReceiverKind::join_eui || kind == ReceiverKind::net_id;
        case StaticRoute::Match::join_eui: return kind == ReceiverKind::join_eui;
        case StaticRoute::Match::net_id: return kind == ReceiverKind::net_id;
        case StaticRoute::Match::as_id: return kind == ReceiverKind::as_id;
    }
    return false;
}

std::string_view id_name(ReceiverKind kind) {
    return kind == ReceiverKind::join_eui ? "JoinEUI" : kind == ReceiverKind::net_id ? "NetID" : "AS-ID";
}

}  // namespace

const StaticRoute* match_static_route(const std::vector<StaticRoute>& routes, ReceiverKind kind,
                                      std::string_view receiver_id) {
    for (const StaticRoute& route : routes) {  // longest key first
        if (!kind_matches(route.match, kind)) continue;
        bool hit = route.match == StaticRoute::Match::as_id ? receiver_id == route.key : receiver_id.starts_with(route.key);
        if (hit) return &route;
    }
    return nullptr;
}

RouteDecision decide_route(const config::OutboundListener& listener, std::string_view body) {
    RouteDecision decision;
    auto message = parse_backend_message_strictly(body);
    if (!message || message->message_type.empty()) {
        return malformed(std::move(decision), "request is not a Backend Interfaces message (no MessageType, or a "
                                              "header field given twice)");
    }
    decision.message_type = message->message_type;
    decision.kind = receiver_kind_for(message->message_type);
    if (decision.kind == ReceiverKind::unknown) {
        return unknown(std::move(decision), "no route for MessageType " + message->message_type);
    }
    if (message->receiver_id.empty()) return malformed(std::move(decision), "request has no ReceiverID");
    if (decision.kind == ReceiverKind::as_id) {
        if (auto* route = match_static_route(listener.routes, decision.kind, message->receiver_id)) {
            return routed(std::move(decision), route->destination, false);
        }
        return unknown(std::move(decision), "no route for " + message->message_type + " to AS-ID " +
                                                message->receiver_id + " (AS-IDs have no DNS discovery)");
    }
    std::string why;
    auto id = normalize_receiver_id(decision.kind, message->receiver_id, why);
    if (!id) return malformed(std::move(decision), why);
    if (auto* route = match_static_route(listener.routes, decision.kind, *id)) {
        return routed(std::move(decision), route->destination, false);
    }
    const config::RouteConfig& discovery = listener.route;
    std::string_view suffix = decision.kind == ReceiverKind::join_eui ? discovery.join_eui_suffix : discovery.net_id_suffix;
    if (!discovery.discover || suffix.empty()) {
        return unknown(std::move(decision), "no route for " + std::string(id_name(decision.kind)) + " " + *id +
                                                ": no static route and no federation suffix for it");
    }
    auto name = receiver_dns_name(decision.kind, *id, discovery.join_eui_suffix, discovery.net_id_suffix, why);
    if (!name) return malformed(std::move(decision), why);
    return routed(std::move(decision), {std::move(*name), discovery.port}, true);
}

}  // namespace dance::proxy
