#include "proxy/outbound/outbound_connector.hpp"

#include <algorithm>
#include <chrono>

#include <event2/util.h>

#include "base/ip_literal.hpp"
#include "proxy/auth/server_auth_plan.hpp"
#include "proxy/observe/handshake_report.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/route/route_resolution.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "proxy/tls/tls_connector.hpp"

namespace dance::proxy {
namespace {

using Clock = std::chrono::steady_clock;

class OutboundConnect final : public ConnectAttempt {
public:
    OutboundConnect(event_base* base, dns::TlsaResolver& resolver, std::shared_ptr<const OutboundSettings> settings,
                    RouteDestination destination, ListenerMetrics& metrics, ConnectCallback done)
        : base_(base),
          resolver_(resolver),
          settings_(std::move(settings)),
          destination_(std::move(destination)),
          metrics_(metrics),
          done_(std::move(done)) {
        if (destination_.server.host.empty()) destination_.server = settings_->config.upstream;
        tls_base_ = destination_.server.host;
    }

    void start() {
        if (destination_.discovered) {
            route_resolution_ = std::make_unique<RouteResolution>(
                resolver_, destination_, [this](ResolvedRoute route) { on_route(std::move(route)); });
            return;
        }
        const config::OutboundListener& config = settings_->config;
        const config::HostPort& dial = config.connect_to.host.empty() || config.routes_by_receiver()
                                           ? destination_.server
                                           : config.connect_to;
        port_ = dial.port;
        if (is_ip_literal(dial.host)) {
            address_ = dial.host;
        } else {
            address_lookup_ = resolver_.lookup_addresses(dial.host, [this](const dns::AddressResult& result) {
                on_addresses(result);
            });
        }
        if (config.server_auth == config::ServerAuth::pkix) {
            tlsa_ = dns::TlsaResult{};
        } else {
            look_up_tlsa(destination_.server.host);
        }
        if (!address_.empty() && tlsa_) proceed_soon();
    }

private:
    void on_addresses(const dns::AddressResult& result) {
        if (!done_) return;  // already failed
        if (result.addresses.empty()) {
            return fail(UpstreamError::dns_failed, "no address for the upstream: " + std::string(to_string(result.status)),
                        HandshakeResult::connect_failed);
        }
        addresses_ = result.addresses;
        address_ = addresses_.front();
        if (tlsa_) proceed();
    }

    // A discovered route: no connection unless the whole walk was DNSSEC-secure.
    void on_route(ResolvedRoute route) {
        if (!done_) return;
        if (!route.failure.empty()) return fail_route(route.failure, std::move(route.description));
        // A retry after a reload that turned discovery off (or to pkix) must not reach a discovered server.
        const config::OutboundListener& config = settings_->config;
        if (!config.route.discover || config.server_auth == config::ServerAuth::pkix) {
            return fail_route("error", "routing by DNS was turned off by a reload");
        }
        addresses_ = std::move(route.addresses);
        address_ = addresses_.front();
        port_ = route.server.port;
        tls_base_ = std::move(route.tls_base);
        tlsa_owner_ = std::move(route.tlsa_owner);
        reuse_until_ = std::min(reuse_until_, Clock::now() + std::chrono::seconds(route.ttl));
        on_tlsa(route.tlsa);
    }

    void look_up_tlsa(const std::string& host) {
        tlsa_owner_ = server_tlsa_owner({host, destination_.server.port});
        tlsa_lookup_ = resolver_.lookup_tlsa(tlsa_owner_, [this](const dns::TlsaResult& result) { on_tlsa(result); });
    }

    void on_tlsa(const dns::TlsaResult& result) {
        if (!done_) return;  // already failed
        tlsa_ = result;
        // What this answer decides (DANE, or RFC 7672's PKIX when provably absent) holds for its lifetime.
        // An answer the cache does not keep (valid_until unset) allows no reuse at all.
        reuse_until_ = std::min(reuse_until_, result.valid_until);
        if (!address_.empty()) proceed();
    }

    void proceed_soon() {
        // Both inputs were known at once; the callback must not run inside the Connector call.
        proceed_event_.reset(evtimer_new(base_, [](evutil_socket_t, short, void* self) {
            static_cast<OutboundConnect*>(self)->proceed();
        }, this));
        event_active(proceed_event_.get(), EV_TIMEOUT, 0);
    }

    void proceed() {
        const config::OutboundListener& config = settings_->config;
        ServerAuthPlan plan = plan_server_auth(config.server_auth, *tlsa_);
        if (plan == ServerAuthPlan::refuse) {
            return fail(UpstreamError::dns_failed, "TLSA " + tlsa_owner_ + ": " + std::string(to_string(tlsa_->status)),
                        refused_plan_result(*tlsa_));
        }
        TlsConnectTarget target;
        target.server_name = tls_base_;
        target.address = address_;
        target.port = port_;
        target.client_id = config.tls.client_id;
        target.timeout_ms = config.timeouts.connect_ms + config.timeouts.handshake_ms;
        target.verification = plan == ServerAuthPlan::dane ? ServerVerification::dane : ServerVerification::pkix;
        if (plan == ServerAuthPlan::dane) target.server_tlsa = tlsa_->records;
        tls_attempt_ = connect_tls(base_, settings_->tls.get(), std::move(target),
                                   [this](TlsConnectResult result) { on_tls(std::move(result)); });
    }

    void on_tls(TlsConnectResult result) {
        // Several addresses (IPv6 and IPv4, several hosts): a refused connection moves on to the next one.
        if (result.reason == HandshakeResult::connect_failed && next_address_ + 1 < addresses_.size()) {
            address_ = addresses_[++next_address_];
            return proceed();
        }
        if (result.reason == HandshakeResult::ok) {
            report_handshake(metrics_, {HandshakeResult::ok, result.seconds, {}, {}, {}});
            ConnectCallback done = std::move(done_);
            return done(ConnectOutcome::ready(std::move(result.connection), reuse_until_));
        }
        UpstreamError kind = UpstreamError::tls_failed;
        if (result.reason == HandshakeResult::connect_failed) kind = UpstreamError::connect_failed;
        if (result.reason == HandshakeResult::timeout) kind = UpstreamError::connect_timeout;
        if (result.reason == HandshakeResult::server_tlsa_mismatch) kind = UpstreamError::server_auth_failed;
        if (result.reason == HandshakeResult::peer_rejected) kind = UpstreamError::peer_rejected;
        fail(kind, result.detail, result.reason, result.seconds);
    }

    void fail(UpstreamError kind, std::string description, HandshakeResult why, double seconds = 0) {
        std::string upstream = destination_.server.to_string();
        report_handshake(metrics_, {why, seconds, upstream, settings_->config.tls.client_id, description});
        ConnectCallback done = std::move(done_);
        done(ConnectOutcome::failed(kind, std::move(description), std::string(to_string(why)), true));
    }

    // Not a handshake: there was no one to shake hands with. The relay logs it once.
    void fail_route(std::string_view result, std::string description) {
        ConnectCallback done = std::move(done_);
        done(ConnectOutcome::failed(UpstreamError::route_failed, std::move(description), std::string(result), false));
    }

    event_base* base_;
    dns::TlsaResolver& resolver_;
    std::shared_ptr<const OutboundSettings> settings_;
    RouteDestination destination_;
    ListenerMetrics& metrics_;
    ConnectCallback done_;
    std::string tls_base_;  // SNI and DANE base domain: the name whose TLSA records are used
    std::string tlsa_owner_;
    std::string address_;
    std::vector<std::string> addresses_;
    size_t next_address_ = 0;
    uint16_t port_ = 0;
    std::optional<dns::TlsaResult> tlsa_;
    Clock::time_point reuse_until_ = Clock::time_point::max();
    dns::PendingLookupPtr address_lookup_;
    dns::PendingLookupPtr tlsa_lookup_;
    std::unique_ptr<RouteResolution> route_resolution_;
    std::unique_ptr<TlsConnectAttempt> tls_attempt_;
    EventPtr proceed_event_;
};

}  // namespace

Connector make_outbound_connector(event_base* base, dns::TlsaResolver& resolver,
                                  SettingsSlot<OutboundSettings>& settings, ListenerMetrics& metrics,
                                  RouteDestination destination) {
    return [base, &resolver, &settings, &metrics, destination = std::move(destination)](
               ConnectCallback done) -> std::unique_ptr<ConnectAttempt> {
        auto attempt = std::make_unique<OutboundConnect>(base, resolver, settings.get(), destination, metrics,
                                                         std::move(done));
        attempt->start();
        return attempt;
    };
}

}  // namespace dance::proxy
