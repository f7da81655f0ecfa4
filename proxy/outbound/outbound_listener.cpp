#include "proxy/outbound/outbound_listener.hpp"

#include "proxy/net/listen_socket.hpp"
#include "proxy/outbound/outbound_connector.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/relay/request_relay.hpp"

namespace dance::proxy {
namespace {

UpstreamPoolOptions pool_options(const config::OutboundListener& config) {
    UpstreamPoolOptions options;
    options.max_idle = config.max_idle_connections;
    options.request_timeout_ms = config.timeouts.request_ms;
    options.idle_timeout_ms = config.timeouts.idle_ms;
    return options;
}

}  // namespace

OutboundListener::OutboundListener(event_base* base, dns::TlsaResolver& resolver,
                                   SettingsSlot<OutboundSettings>& settings, ListenerMetrics& metrics)
    : base_(base),
      resolver_(resolver),
      settings_(settings),
      metrics_(metrics),
      pool_(base, make_outbound_connector(base, resolver, settings, metrics), pool_options(settings.get()->config)),
      destinations_(base, settings.get()->config.route.max_destinations) {
    if (settings.get()->config.routes_by_receiver()) metrics_.routes_enabled();
}

OutboundListener::~OutboundListener() { close_all(); }

bool OutboundListener::start(std::string& error) {
    listener_ = std::make_unique<AcceptingSocket>(
        [this](evutil_socket_t fd, sockaddr* peer) { accept_connection(fd, peer_to_string(peer)); },
        [this] { metrics_.connection_rejected("accept_error"); });
    if (listener_->listen(base_, settings_.get()->config.listen, error)) return true;
    listener_.reset();
    return false;
}

void OutboundListener::stop_accepting() { listener_.reset(); }

size_t OutboundListener::drain_connections() {
    return clients_.size() - wind_down_sessions(clients_, [](const auto& entry) -> HttpServerSession& { return *entry.second->session; });
}

UpstreamPoolStats OutboundListener::pool_stats() const {
    UpstreamPoolStats total = pool_.stats();
    total += destinations_.stats();
    return total;
}

void OutboundListener::close_all() {
    listener_.reset();
    while (!clients_.empty()) {
        clients_.erase(clients_.begin());
        metrics_.connection_closed();
    }
}

void OutboundListener::accept_connection(evutil_socket_t fd, std::string peer) {
    evutil_make_socket_nonblocking(fd);
    set_no_delay(fd);
    bufferevent* connection = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (connection == nullptr) {
        evutil_closesocket(fd);
        return;
    }
    metrics_.connection_opened();
    auto client = std::make_unique<Client>();
    Client* key = client.get();
    client->peer = std::move(peer);
    const config::OutboundListener& config = settings_.get()->config;
    HttpServerSessionOptions options;
    options.idle_ms = config.timeouts.idle_ms;
    options.error_response = session_error_response;
    options.limits.max_body_bytes = config.max_body_bytes;
    client->session = std::make_unique<HttpServerSession>(
        connection, options,
        [this, key](HttpRequest&& request, ResponseWriter writer) { on_request(*key, std::move(request), std::move(writer)); },
        [this, key] { on_client_closed(key); });
    clients_.emplace(key, std::move(client));
}

// Runs inside the session's own callback: the erase destroys that callback, so it comes last.
void OutboundListener::on_client_closed(Client* key) {
    metrics_.connection_closed();
    clients_.erase(key);
}

void OutboundListener::on_request(Client& client, HttpRequest&& request, ResponseWriter writer) {
    auto settings = settings_.get();
    if (settings != pool_settings_) {
        // A reload: pooled connections carry the old certificate, identity or upstream.
        if (pool_settings_) {
            pool_.retire_connections();
            destinations_.retire_connections();
        }
        destinations_.set_max_destinations(settings->config.route.max_destinations);
        if (settings->config.routes_by_receiver()) metrics_.routes_enabled();  // idempotent: a listener may start routing
        pool_settings_ = settings;
    }
    if (settings->config.routes_by_receiver()) return route_request(*settings, client, std::move(request), std::move(writer));
    RelayRoute route{metrics_, pool_, "upstream"};
    ProxyHeader host[] = {{"Host", settings->config.upstream.to_string()}};
    relay_request(std::move(request), std::move(writer), route, {settings->config.tls.client_id, client.peer},
                  host);
}

// Routing by ReceiverID: a refusal is answered here and opens no connection; a route goes through its
// destination's pool, whose connector discovers and authenticates the server.
void OutboundListener::route_request(const OutboundSettings& settings, Client& client, HttpRequest&& request,
                                     ResponseWriter writer) {
    RequestOrigin origin{settings.config.tls.client_id, client.peer};
    RouteDecision decision = decide_route(settings.config, request.body);
    std::string_view kind = to_string(decision.kind);
    if (!decision.routed) {
        metrics_.route_lookup(kind, decision.refusal.metric_result);
        log::info("route_refused", {{"listener", metrics_.name()}, {"message_type", decision.message_type},
                                    {"detail", decision.refusal.description}});
        return refuse_request(metrics_, origin, request, writer, decision.refusal.status, decision.message_type,
                              decision.refusal.result_code, decision.refusal.description);
    }
    const RouteDestination& destination = decision.destination;
    UpstreamPool* pool = destinations_.pool_for(destination.key(), [&] {
        return std::make_unique<UpstreamPool>(
            base_, make_outbound_connector(base_, resolver_, settings_, metrics_, destination), pool_options(settings.config));
    });
    if (pool == nullptr) {
        metrics_.route_lookup(kind, "overload");
        return refuse_request(metrics_, origin, request, writer, 503, decision.message_type, "Other",
                              "too many destinations in use: every upstream pool has a request in flight");
    }
    auto observe = [this, kind, discovered = destination.discovered, key = destination.key()](const UpstreamResult& result) {
        bool route_failed = !result.ok() && result.failure.kind == UpstreamError::route_failed;
        if (route_failed) {
            metrics_.route_lookup(kind, result.failure.reason);
            destinations_.forget_if_unused(key);  // a made-up ReceiverID keeps no pool
            return;
        }
        metrics_.route_lookup(kind, !discovered ? "static" : result.ok() ? "secure" : "upstream_failed");
    };
    RelayRoute route{metrics_, *pool, "upstream", observe};
    ProxyHeader host[] = {{"Host", destination.server.to_string()}};
    relay_request(std::move(request), std::move(writer), route, std::move(origin), host);
}

}  // namespace dance::proxy
