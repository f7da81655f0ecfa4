#include "proxy/inbound/inbound_listener.hpp"

#include <list>

#include <event2/bufferevent_ssl.h>

#include "proxy/auth/dane_client_verifier.hpp"
#include "proxy/lorawan/lorawan_answer.hpp"
#include "proxy/lorawan/lorawan_message.hpp"
#include "proxy/net/listen_socket.hpp"
#include "proxy/observe/handshake_report.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/relay/request_relay.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "proxy/upstream/upstream_tcp_connector.hpp"

namespace dance::proxy {

struct InboundListener::Handshaking {
    std::shared_ptr<const InboundSettings> settings;
    std::string peer;
    std::string source;                         // the peer's address without its port
    std::list<Handshaking*>::iterator age;      // place in handshake_age_, oldest first
    std::unique_ptr<InboundHandshake> handshake;
};

struct InboundListener::Established {
    std::shared_ptr<const InboundSettings> settings;
    std::string identity;      // authenticated ClientName, "" when unauthenticated (optional mode)
    std::string matched_tlsa;  // "3 1 1"
    std::string peer;
    std::unique_ptr<HttpServerSession> session;
    std::unique_ptr<AuthenticationRenewal> authentication;  // null when unauthenticated
    // Requests that arrived while the authentication was being renewed.
    std::vector<std::pair<HttpRequest, ResponseWriter>> waiting;
    bool revoked = false;  // a reload no longer admits it: every further request is refused
};

namespace {

constexpr std::string_view unknown_sender = "UnknownSender";
constexpr size_t logged_sender_id_max = 64;  // the SenderID comes from the client: bound what we log

bool same_backend(const config::InboundListener& a, const config::InboundListener& b) {
    return a.backend.host == b.backend.host && a.backend.port == b.backend.port &&
           a.timeouts.backend_ms == b.timeouts.backend_ms && a.timeouts.idle_ms == b.timeouts.idle_ms;
}

// The client claimed a SenderID its DANE identity is not bound to: answer as a TS002 peer would
// (UnknownSender) and forward nothing.
void refuse_unbound_sender(ListenerMetrics& metrics, const RequestOrigin& origin, const HttpRequest& request,
                           ResponseWriter& writer, const SenderVerdict& verdict) {
    std::string_view sender_id = std::string_view(verdict.sender_id).substr(0, logged_sender_id_max);
    log::warn("sender_not_bound", {{"listener", metrics.name()}, {"client_id", origin.identity},
                                   {"sender_id", sender_id}});
    std::string description = origin.identity.empty()
                                  ? "SenderIDs are bound to DANE identities: this client is not authenticated"
                                  : "SenderID not bound to client identity " + origin.identity;
    refuse_request(metrics, origin, request, writer, 403, verdict.message_type, unknown_sender, description);
}

// The connection's authentication lapsed (its TLSA record changed or can no longer be validated) while the
// request was on its way: the backend must not see it.
void refuse_after_lapse(ListenerMetrics& metrics, const RequestOrigin& origin, const HttpRequest& request,
                        ResponseWriter& writer,
                        const std::string& description = "client authentication lapsed with its TLSA record; reconnect") {
    auto message = parse_backend_message(request.body);
    refuse_request(metrics, origin, request, writer, 403, message ? message->message_type : "", "Other", description);
}

}  // namespace

InboundListener::InboundListener(event_base* base, dns::TlsaResolver& resolver,
                                 SettingsSlot<InboundSettings>& settings, ListenerMetrics& metrics,
                                 std::atomic<uint32_t>& open_connections, SharedByteBudget& unauthenticated_bytes)
    : base_(base),
      resolver_(resolver),
      settings_(settings),
      metrics_(metrics),
      open_connections_(open_connections),
      unauthenticated_bytes_(unauthenticated_bytes),
      reap_event_(evtimer_new(base, reap, this)),
      closer_(base) {
    dns_budget_.limit = settings_.get()->config.max_pending_dns;
    dns_budget_.on_change = [this](int delta) { metrics_.pending_dns(delta); };
}

InboundListener::~InboundListener() { close_all(); }

bool InboundListener::start(std::string& error) {
    listener_ = std::make_unique<AcceptingSocket>(
        [this](evutil_socket_t fd, sockaddr* peer) { accept_connection(fd, peer_to_string(peer)); },
        [this] { metrics_.connection_rejected("accept_error"); });
    if (listener_->listen(base_, settings_.get()->config.listen, error)) return true;
    listener_.reset();
    return false;
}

void InboundListener::stop_accepting() { listener_.reset(); }

size_t InboundListener::drain_connections() {
    size_t closed = wind_down_sessions(sessions_, [](const auto& entry) -> HttpServerSession& { return *entry.second->session; });
    return sessions_.size() + handshakes_.size() - closed;
}

void InboundListener::close_all() {
    listener_.reset();
    while (!handshake_age_.empty()) forget_handshake(handshake_age_.front());
    while (!sessions_.empty()) {
        sessions_.erase(sessions_.begin());
        release_connection_slot();
    }
}

void InboundListener::accept_connection(evutil_socket_t fd, std::string peer) {
    auto settings = settings_.get();
    const config::InboundListener& config = settings->config;
    std::string source = peer.substr(0, peer.rfind(':'));
    uint32_t per_source = config.max_handshakes_per_source;
    if (auto held = handshakes_by_source_.find(source);
        per_source != 0 && held != handshakes_by_source_.end() && held->second >= per_source) {
        return refuse_connection(fd, "max_handshakes_per_source");
    }
    // Connections still in their handshake make room for new ones, oldest first: a flood of stalled
    // handshakes (a few bytes of ClientHello each) cannot lock out a client that completes its handshake.
    bool full = open_connections_.load() >= config.max_connections;
    if (!handshake_age_.empty() && (handshakes_.size() >= config.max_handshakes || full)) {
        metrics_.connection_rejected("max_handshakes");
        forget_handshake(eviction_candidate());
    }
    if (open_connections_.fetch_add(1) >= config.max_connections) {
        open_connections_.fetch_sub(1);
        return refuse_connection(fd, "max_connections");
    }
    metrics_.connection_opened();
    evutil_make_socket_nonblocking(fd);
    set_no_delay(fd);
    auto entry = std::make_unique<Handshaking>();
    Handshaking* key = entry.get();
    entry->settings = settings;
    entry->peer = std::move(peer);
    entry->source = std::move(source);
    entry->age = handshake_age_.insert(handshake_age_.end(), key);
    ++handshakes_by_source_[entry->source];
    entry->handshake = std::make_unique<InboundHandshake>(
        base_, settings->tls.get(), fd, settings->policy,
        std::make_unique<DaneClientVerifier>(settings->policy, resolver_, dns_budget_),
        [this, key](HandshakeOutcome outcome, SslPtr ssl, evutil_socket_t established_fd) {
            on_handshake_done(key, std::move(outcome), std::move(ssl), established_fd);
        });
    InboundHandshake& handshake = *entry->handshake;
    handshakes_.emplace(key, std::move(entry));
    handshake.start();
}

void InboundListener::refuse_connection(evutil_socket_t fd, std::string_view reason) {
    metrics_.connection_rejected(reason);
    evutil_closesocket(fd);
}

// Takes a handshake out of the books; returns it so the caller decides when it is destroyed (destroying an
// unfinished one closes its socket and releases its OpenSSL job).
std::unique_ptr<InboundListener::Handshaking> InboundListener::unlist_handshake(Handshaking* key) {
    auto found = handshakes_.find(key);
    std::unique_ptr<Handshaking> entry = std::move(found->second);
    handshakes_.erase(found);
    handshake_age_.erase(entry->age);
    if (auto source = handshakes_by_source_.find(entry->source); source != handshakes_by_source_.end()) {
        if (--source->second == 0) handshakes_by_source_.erase(source);
    }
    return entry;
}

// Which handshake makes room, by how little is lost: first the oldest whose client has not even sent a whole
// ClientHello (a stalled or slowloris client costs nothing to drop); then the oldest that is not waiting for
// its TLSA answer (its client stalls before its Certificate); then the oldest. A client whose whole flight is
// in and whose DNS answer is on its way is the likeliest to finish, so it goes last. The scan is bounded:
// under a flood the oldest entries are the stalled ones.
InboundListener::Handshaking* InboundListener::eviction_candidate() const {
    constexpr int scan_limit = 64;
    int scanned = 0;
    Handshaking* not_waiting_for_dns = nullptr;
    for (Handshaking* entry : handshake_age_) {
        if (entry->handshake->still_in_client_hello()) return entry;
        if (!not_waiting_for_dns && !entry->handshake->waiting_for_dns()) not_waiting_for_dns = entry;
        if (++scanned == scan_limit) break;
    }
    return not_waiting_for_dns ? not_waiting_for_dns : handshake_age_.front();
}

// An unfinished handshake, ended from outside (eviction, shutdown): destroyed at once.
void InboundListener::forget_handshake(Handshaking* key) {
    unlist_handshake(key).reset();
    release_connection_slot();
}

void InboundListener::on_handshake_done(Handshaking* key, HandshakeOutcome outcome, SslPtr ssl,
                                        evutil_socket_t fd) {
    std::unique_ptr<Handshaking> entry = unlist_handshake(key);
    report_handshake(metrics_, {outcome.reason, outcome.seconds, entry->peer, outcome.client_name, outcome.detail});
    if (outcome.reason != HandshakeResult::ok) {
        closer_.close(fd);
        release_connection_slot();
        return bury(std::move(entry));
    }
    log::debug("handshake_ok", {{"listener", metrics_.name()}, {"client", entry->peer},
                                {"client_id", outcome.client_name}, {"tlsa", outcome.matched_tlsa},
                                {"credential", outcome.client_name.empty() ? "unauthenticated"
                                               : outcome.raw_public_key ? "raw_public_key" : "certificate"}});
    start_session(entry->settings, std::move(outcome), std::move(ssl), fd, entry->peer);
    bury(std::move(entry));
}

// The finished handshake is still on the call stack below us: the loop frees it a moment later.
void InboundListener::bury(std::unique_ptr<Handshaking> entry) {
    finished_handshakes_.push_back(std::move(entry));
    event_active(reap_event_.get(), EV_TIMEOUT, 0);
}

void InboundListener::reap(evutil_socket_t, short, void* self) {
    static_cast<InboundListener*>(self)->finished_handshakes_.clear();
}

void InboundListener::start_session(std::shared_ptr<const InboundSettings> settings, HandshakeOutcome outcome,
                                    SslPtr ssl, evutil_socket_t fd, std::string peer) {
    bufferevent* connection = bufferevent_openssl_socket_new(base_, fd, ssl.release(), BUFFEREVENT_SSL_OPEN,
                                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (connection == nullptr) {
        evutil_closesocket(fd);
        release_connection_slot();
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(connection, 1);
    auto established = std::make_unique<Established>();
    Established* key = established.get();
    established->identity = std::move(outcome.client_name);
    established->matched_tlsa = std::move(outcome.matched_tlsa);
    established->peer = std::move(peer);
    HttpServerSessionOptions options;
    options.idle_ms = settings->config.timeouts.idle_ms;
    options.error_response = session_error_response;
    options.limits.max_body_bytes = settings->config.max_body_bytes;
    if (established->identity.empty()) limit_unauthenticated(options, settings->config);
    established->settings = std::move(settings);
    established->session = std::make_unique<HttpServerSession>(
        connection, options,
        [this, key](HttpRequest&& request, ResponseWriter writer) { on_request(*key, std::move(request), std::move(writer)); },
        [this, key] { on_session_closed(key); });
    if (outcome.authenticated_until) {
        established->authentication = std::make_unique<AuthenticationRenewal>(
            base_, resolver_, established->identity, std::move(outcome.matched_record), *outcome.authenticated_until,
            [this, key] { return client_name_allowed(settings_.get()->policy, key->identity); },
            [this, key] { on_authentication_renewed(*key); },
            [this, key](std::string why) { on_authentication_lapsed(*key, why); });
    }
    sessions_.emplace(key, std::move(established));
}

// An unauthenticated client (optional mode) is anyone: one request at a time, so it holds at most one backend
// connection, and its buffered request bytes count against the listener's shared budget.
void InboundListener::limit_unauthenticated(HttpServerSessionOptions& options, const config::InboundListener& config) {
    options.max_pipelined = 1;
    options.buffer_budget = &unauthenticated_bytes_;
    options.buffer_budget_limit = config.max_unauthenticated_buffered_bytes;
    options.on_buffer_budget_exceeded = [this] {
        metrics_.connection_rejected("unauthenticated_buffer_limit");
        log::warn("unauthenticated_buffer_limit", {{"listener", metrics_.name()}});
    };
}

void InboundListener::on_authentication_renewed(Established& connection) {
    auto waiting = std::move(connection.waiting);
    for (auto& [request, writer] : waiting) forward(connection, std::move(request), std::move(writer));
}

void InboundListener::on_authentication_lapsed(Established& connection, const std::string& why) {
    log::info("authentication_lapsed", {{"listener", metrics_.name()}, {"client", connection.peer},
                                        {"client_id", connection.identity}, {"reason", why}});
    connection.session->end_keep_alive();
    auto waiting = std::move(connection.waiting);
    for (auto& [request, writer] : waiting)
        refuse_after_lapse(metrics_, {connection.identity, connection.peer}, request, writer);
}

void InboundListener::on_request(Established& connection, HttpRequest&& request, ResponseWriter writer) {
    if (connection.authentication) {
        switch (connection.authentication->state()) {
            case AuthenticationRenewal::State::valid: break;
            case AuthenticationRenewal::State::renewing:
                connection.waiting.emplace_back(std::move(request), std::move(writer));
                return;
            case AuthenticationRenewal::State::lapsed:
                return refuse_after_lapse(metrics_, {connection.identity, connection.peer}, request, writer);
        }
    }
    forward(connection, std::move(request), std::move(writer));
}

// Every request is checked against the current settings, not those of its handshake: a reload that removes an
// allow entry or a SenderID, makes authentication required, or renames the identity header reaches the next
// request of every open connection.
void InboundListener::forward(Established& connection, HttpRequest&& request, ResponseWriter writer) {
    std::shared_ptr<const InboundSettings> current = settings_.get();
    const InboundSettings& settings = *current;
    if (std::string why = why_no_longer_admitted(connection, settings); !why.empty()) {
        if (!connection.revoked) {
            connection.revoked = true;
            on_authentication_lapsed(connection, why);
        }
        return refuse_after_lapse(metrics_, {connection.identity, connection.peer}, request, writer, why + "; reconnect");
    }
    if (settings.sender_binding.enabled()) {
        SenderVerdict verdict = settings.sender_binding.check(connection.identity, request.body);
        if (!verdict.allowed)
            return refuse_unbound_sender(metrics_, {connection.identity, connection.peer}, request, writer, verdict);
    }
    RelayRoute route{metrics_, backend_pool(current), "backend"};
    // A client must never be able to claim an identity: whatever it sent under these names is dropped.
    bool authenticated = !connection.identity.empty();
    std::vector<ProxyHeader> identity_headers = {
        {settings.config.identity_header, authenticated ? std::optional(connection.identity) : std::nullopt},
        {matched_tlsa_header, authenticated ? std::optional(connection.matched_tlsa) : std::nullopt}};
    for (const std::string& former : settings.former_identity_headers) identity_headers.push_back({former, std::nullopt});
    relay_request(std::move(request), std::move(writer), route, {connection.identity, connection.peer},
                  identity_headers);
}

std::string InboundListener::why_no_longer_admitted(const Established& connection, const InboundSettings& settings) {
    if (connection.identity.empty()) {
        return settings.policy.mode == config::ClientAuthMode::require ? "client authentication required since a reload"
                                                                        : "";
    }
    return client_name_allowed(settings.policy, connection.identity) ? "" : "not in the allow-list since a reload";
}

// One pool per worker, kept across reloads unless the backend or its timeouts changed; a replaced pool lives
// until its requests in flight are answered.
UpstreamPool& InboundListener::backend_pool(const std::shared_ptr<const InboundSettings>& settings) {
    if (pool_ && settings == pool_settings_) return *pool_;  // no reload since the last request
    std::erase_if(retired_pools_, [](const auto& pool) { return pool->stats().requests_in_flight == 0; });
    const config::InboundListener& config = settings->config;
    if (!pool_ || !pool_settings_ || !same_backend(pool_settings_->config, config)) {
        if (pool_) retired_pools_.push_back(std::move(pool_));
        UpstreamPoolOptions options;
        options.request_timeout_ms = config.timeouts.backend_ms;
        options.idle_timeout_ms = config.timeouts.idle_ms;
        pool_ = std::make_unique<UpstreamPool>(
            base_, make_tcp_connector(base_, config.backend, config.timeouts.backend_ms), options);
    }
    pool_settings_ = settings;
    return *pool_;
}

void InboundListener::on_session_closed(Established* key) {
    sessions_.erase(key);
    release_connection_slot();
}

void InboundListener::release_connection_slot() {
    open_connections_.fetch_sub(1);
    metrics_.connection_closed();
}

}  // namespace dance::proxy
