// One inbound listener on one worker: accepts TLS connections, authenticates clients by DANE, and
// relays their HTTP requests to the local backend with the authenticated identity in a header.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/c_handles.hpp"
#include "dns/tlsa_resolver.hpp"
#include "proxy/auth/authentication_renewal.hpp"
#include "proxy/http/http_server_session.hpp"
#include "proxy/inbound/inbound_handshake.hpp"
#include "proxy/inbound/inbound_settings.hpp"
#include "proxy/net/lingering_close.hpp"
#include "proxy/net/listen_socket.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/upstream/upstream_pool.hpp"

namespace dance::proxy {

inline constexpr std::string_view matched_tlsa_header = "X-Dane-Client-Tlsa";

class InboundListener {
public:
    InboundListener(event_base* base, dns::TlsaResolver& resolver, SettingsSlot<InboundSettings>& settings,
                    ListenerMetrics& metrics, std::atomic<uint32_t>& open_connections,
                    SharedByteBudget& unauthenticated_bytes);
    ~InboundListener();
    InboundListener(const InboundListener&) = delete;
    InboundListener& operator=(const InboundListener&) = delete;

    bool start(std::string& error);
    void stop_accepting();
    // Draining: see wind_down_sessions(); returns how many connections remain.
    size_t drain_connections();
    void close_all();

private:
    struct Handshaking;
    struct Established;

    void accept_connection(evutil_socket_t fd, std::string peer);
    void refuse_connection(evutil_socket_t fd, std::string_view reason);
    std::unique_ptr<Handshaking> unlist_handshake(Handshaking* key);
    void forget_handshake(Handshaking* key);
    Handshaking* eviction_candidate() const;
    void on_handshake_done(Handshaking* entry, HandshakeOutcome outcome, SslPtr ssl, evutil_socket_t fd);
    void start_session(std::shared_ptr<const InboundSettings> settings, HandshakeOutcome outcome, SslPtr ssl,
                       evutil_socket_t fd, std::string peer);
    void limit_unauthenticated(HttpServerSessionOptions& options, const config::InboundListener& config);
    void on_authentication_renewed(Established& connection);
    void on_authentication_lapsed(Established& connection, const std::string& why);
    void on_request(Established& connection, HttpRequest&& request, ResponseWriter writer);
    void forward(Established& connection, HttpRequest&& request, ResponseWriter writer);
    static std::string why_no_longer_admitted(const Established& connection, const InboundSettings& settings);
    void on_session_closed(Established* connection);
    void release_connection_slot();
    void bury(std::unique_ptr<Handshaking> entry);
    static void reap(evutil_socket_t, short, void* self);
    UpstreamPool& backend_pool(const std::shared_ptr<const InboundSettings>& settings);

    event_base* base_;
    dns::TlsaResolver& resolver_;
    SettingsSlot<InboundSettings>& settings_;
    ListenerMetrics& metrics_;
    std::atomic<uint32_t>& open_connections_;  // this listener, all workers
    // Request bytes held by unauthenticated (optional mode) connections, this listener, all workers.
    SharedByteBudget& unauthenticated_bytes_;
    PendingDnsBudget dns_budget_;
    std::unique_ptr<AcceptingSocket> listener_;
    std::unordered_map<Handshaking*, std::unique_ptr<Handshaking>> handshakes_;
    std::list<Handshaking*> handshake_age_;  // oldest first: the first to make room
    std::unordered_map<std::string, uint32_t> handshakes_by_source_;
    std::unordered_map<Established*, std::unique_ptr<Established>> sessions_;
    std::vector<std::unique_ptr<Handshaking>> finished_handshakes_;
    EventPtr reap_event_;
    LingeringCloser closer_;
    std::unique_ptr<UpstreamPool> pool_;
    std::shared_ptr<const InboundSettings> pool_settings_;      // the settings pool_ was last checked against
    std::vector<std::unique_ptr<UpstreamPool>> retired_pools_;  // replaced by a reload, requests still in flight
};

}  // namespace dance::proxy
