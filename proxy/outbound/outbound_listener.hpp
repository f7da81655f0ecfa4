// One outbound listener on one worker: plain HTTP from the local Network Server in, TLS 1.3 with our DANE
// client identity out to the upstream, over a pool of keep-alive connections.
#pragma once

#include <atomic>
#include <memory>
#include <unordered_map>

#include "base/c_handles.hpp"
#include "dns/tlsa_resolver.hpp"
#include "proxy/http/http_server_session.hpp"
#include "proxy/net/listen_socket.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/outbound/destination_pools.hpp"
#include "proxy/outbound/outbound_settings.hpp"
#include "proxy/route/route_cache.hpp"
#include "proxy/route/route_decision.hpp"
#include "proxy/upstream/upstream_pool.hpp"

namespace dance::proxy {

class OutboundListener {
public:
    // `route_cache`: the DNS cache settings, whose limits the route cache of a routing listener follows.
    OutboundListener(event_base* base, dns::TlsaResolver& resolver, SettingsSlot<OutboundSettings>& settings,
                     ListenerMetrics& metrics, const config::DnsCacheConfig& route_cache = {});
    ~OutboundListener();
    OutboundListener(const OutboundListener&) = delete;
    OutboundListener& operator=(const OutboundListener&) = delete;

    bool start(std::string& error);
    void stop_accepting();
    size_t drain_connections();  // draining: see wind_down_sessions(); returns how many connections remain
    void close_all();
    UpstreamPoolStats pool_stats() const;

private:
    struct Client {
        std::string peer;
        std::unique_ptr<HttpServerSession> session;
    };

    void accept_connection(evutil_socket_t fd, std::string peer);
    void on_request(Client& client, HttpRequest&& request, ResponseWriter writer);
    void route_request(const OutboundSettings& settings, Client& client, HttpRequest&& request, ResponseWriter writer);
    void on_client_closed(Client* key);

    event_base* base_;
    dns::TlsaResolver& resolver_;
    SettingsSlot<OutboundSettings>& settings_;
    ListenerMetrics& metrics_;
    UpstreamPool pool_;          // the fixed upstream's
    RouteCache routes_;              // a routing listener's finished walks (outlives the pools that use it)
    DestinationPools destinations_;  // a routing listener's, one per destination
    std::shared_ptr<const OutboundSettings> pool_settings_;  // the settings the pool's connections were made with
    std::unique_ptr<AcceptingSocket> listener_;
    std::unordered_map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace dance::proxy
