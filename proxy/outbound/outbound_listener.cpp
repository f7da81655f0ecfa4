#include "proxy/outbound/outbound_listener.hpp"

#include "proxy/net/listen_socket.hpp"
#include "proxy/outbound/outbound_connector.hpp"
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
      settings_(settings),
      metrics_(metrics),
      pool_(base, make_outbound_connector(base, resolver, settings, metrics), pool_options(settings.get()->config)) {}

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
        if (pool_settings_) pool_.retire_connections();
        pool_settings_ = settings;
    }
    RelayRoute route{metrics_, pool_, "upstream"};
    ProxyHeader host[] = {{"Host", settings->config.upstream.to_string()}};
    relay_request(std::move(request), std::move(writer), route, {settings->config.tls.client_id, client.peer},
                  host);
}

}  // namespace dance::proxy
