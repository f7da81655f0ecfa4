#include "cli/resolve_route.hpp"

#include <event2/event.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "cli/commands.hpp"
#include "dns/make_resolver.hpp"
#include "proxy/lorawan/lorawan_answer.hpp"
#include "proxy/route/route_decision.hpp"
#include "proxy/route/route_resolution.hpp"

namespace dance::cli {
namespace {

using proxy::ReceiverKind;

struct EventBaseDeleter {
    void operator()(event_base* base) const { event_base_free(base); }
};

const config::OutboundListener& routing_listener(const config::Config& config, const std::string& name) {
    const config::OutboundListener* found = nullptr;
    for (const auto& listener : config.outbound) {
        if (!listener.routes_by_receiver() || (!name.empty() && listener.name != name)) continue;
        if (found) throw std::invalid_argument("several outbound listeners route by ReceiverID: name one with --listener");
        found = &listener;
    }
    if (!found) {
        throw std::invalid_argument(name.empty() ? "no outbound listener with route: or routes: in the configuration"
                                                 : "no routing outbound listener named " + name);
    }
    return *found;
}

// The request a listener would route for this ReceiverID: "as:ID" is an AS-ID (AppSKeyAns), 6 hex digits a
// NetID (PRStartReq), anything else is taken as a JoinEUI (JoinReq).
std::string request_body_for(const std::string& receiver_id) {
    nlohmann::json body;
    if (receiver_id.starts_with("as:")) {
        body["MessageType"] = "AppSKeyAns";
        body["ReceiverID"] = receiver_id.substr(3);
    } else {
        std::string_view digits = receiver_id;
        if (digits.starts_with("0x") || digits.starts_with("0X")) digits.remove_prefix(2);
        body["MessageType"] = digits.size() == 6 ? "PRStartReq" : "JoinReq";
        body["ReceiverID"] = receiver_id;
    }
    return body.dump();
}

nlohmann::json step_json(const proxy::RouteStep& step) {
    nlohmann::json json{{"type", step.type}, {"name", step.name}, {"status", step.status}, {"ttl", step.ttl},
                        {"records", step.records}};
    if (!step.detail.empty()) json["detail"] = step.detail;
    return json;
}

class RouteReport {
public:
    RouteReport(dns::TlsaResolver& resolver, const config::OutboundListener& listener, const std::string& receiver_id,
                std::function<void()> finished)
        : started_(std::chrono::steady_clock::now()), finished_(std::move(finished)) {
        proxy::RouteDecision decision = proxy::decide_route(listener, request_body_for(receiver_id));
        line_ = {{"receiver_id", receiver_id}, {"kind", std::string(proxy::to_string(decision.kind))}};
        if (!decision.routed) {
            refuse(decision.refusal);
            return;
        }
        const proxy::RouteDestination& destination = decision.destination;
        line_["static"] = !destination.discovered;
        line_["destination"] = destination.server.to_string();
        if (destination.discovered) {
            line_["name"] = destination.server.host;
            resolution_ = std::make_unique<proxy::RouteResolution>(
                resolver, destination, [this](proxy::ResolvedRoute route) { on_route(std::move(route)); });
        } else {
            std::string owner = dns::tlsa_owner_name(destination.server.host, destination.server.port);
            line_["sni"] = destination.server.host;
            tlsa_ = resolver.lookup_tlsa(owner, [this, owner](const dns::TlsaResult& result) {
                proxy::RouteStep step{"TLSA", owner, std::string(dns::to_string(result.status)), result.ttl, {}, result.detail};
                for (const auto& record : result.records) step.records.push_back(record.to_string());
                line_["chain"] = nlohmann::json::array({step_json(step)});
                finish(std::string(dns::to_string(result.status)), result.authenticates());
            });
        }
    }

    bool done() const { return done_; }
    bool authenticated() const { return authenticated_; }
    const nlohmann::json& line() const { return line_; }

private:
    void refuse(const proxy::RouteRefusal& refusal) {
        line_["status"] = std::string(refusal.metric_result);
        line_["result_code"] = std::string(refusal.result_code);
        line_["detail"] = refusal.description;
        done_ = true;
    }

    void on_route(proxy::ResolvedRoute route) {
        line_["chain"] = nlohmann::json::array();
        for (const auto& step : route.chain) line_["chain"].push_back(step_json(step));
        if (!route.failure.empty()) {
            line_["result_code"] = std::string(proxy::route_failure_result_code(route.failure));
            line_["detail"] = route.description;
            return finish(route.failure, false);
        }
        line_["addresses"] = route.addresses;
        if (!route.canonical_name.empty()) line_["canonical_name"] = route.canonical_name;
        line_["sni"] = route.tls_base;
        finish(std::string(dns::to_string(route.tlsa.status)), route.tlsa.authenticates());
    }

    void finish(std::string status, bool authenticated) {
        line_["status"] = std::move(status);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
        line_["ms"] = std::round(ms * 1000) / 1000;
        authenticated_ = authenticated;
        done_ = true;
        finished_();
    }

    std::chrono::steady_clock::time_point started_;
    std::function<void()> finished_;
    nlohmann::json line_;
    bool done_ = false;
    bool authenticated_ = false;
    std::unique_ptr<proxy::RouteResolution> resolution_;
    dns::PendingLookupPtr tlsa_;
};

}  // namespace

int resolve_routes(const config::Config& config, const config::DnsConfig& dns_config, const std::string& listener_name,
                   const std::vector<std::string>& receiver_ids) {
    const config::OutboundListener& listener = routing_listener(config, listener_name);
    std::unique_ptr<event_base, EventBaseDeleter> base(event_base_new());
    if (!base) throw std::runtime_error("cannot create an event loop");
    auto cache = std::make_shared<dns::TlsaCache>(dns_config.cache);
    auto resolver = dns::make_resolver(base.get(), dns_config, cache);
    std::vector<std::unique_ptr<RouteReport>> reports;
    auto all_done = [&reports] {
        for (const auto& report : reports) {
            if (!report->done()) return false;
        }
        return true;
    };
    for (const auto& id : receiver_ids) {
        reports.push_back(std::make_unique<RouteReport>(*resolver, listener, id, [&] {
            if (all_done()) event_base_loopbreak(base.get());
        }));
    }
    if (!all_done()) event_base_dispatch(base.get());
    bool all_authenticated = true;
    for (const auto& report : reports) {
        std::cout << report->line().dump() << "\n";
        all_authenticated = all_authenticated && report->authenticated();
    }
    return all_authenticated ? exit_ok : exit_failure;
}

}  // namespace dance::cli
