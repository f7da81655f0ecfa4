// One server-side TLS 1.3 handshake with DANE client authentication, driven by hand on socket events.
//
// The client's ClientName arrives inside the Certificate message; when its TLSA records are not cached the
// handshake pauses (SSL_MODE_ASYNC + ASYNC_pause_job in the extension callback), the lookup runs on the
// event loop, and the handshake resumes where it paused. OpenSSL's DANE verifier then checks the chain.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <event2/util.h>

#include "config/config.hpp"
#include "dns/tlsa_resolver.hpp"
#include "proxy/tls/dane_clientid.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "base/c_handles.hpp"

namespace dance::proxy {

struct ClientAuthPolicy {
    config::ClientAuthMode mode = config::ClientAuthMode::require;
    std::vector<std::string> allow;  // lower-cased names or "*.zone"
    bool pkix_usages = false;        // a CA file is configured: TLSA usages 0 and 1 are usable
    uint32_t handshake_ms = 10000;
};

// The allow-list check, made before any DNS query for the name.
bool client_name_allowed(const ClientAuthPolicy& policy, std::string_view lower_case_name);

// Handshakes of one worker that are paused waiting for DNS; bounded so stalled lookups cannot pile up.
struct PendingDnsBudget {
    uint32_t limit = 1024;
    uint32_t in_use = 0;
    std::function<void(int)> on_change;  // metrics gauge
};

struct HandshakeOutcome {
    HandshakeResult reason = HandshakeResult::tls_error;  // ok, or why it failed
    std::string client_name;   // authenticated ClientName; empty when unauthenticated (optional mode)
    std::string matched_tlsa;  // "3 1 1" of the record that matched
    dns::TlsaRecord matched_record;  // the record itself, to renew the authentication against later answers
    // When the TLSA answer behind the authentication stops being valid (its cache lifetime: TTL, RRSIG
    // expiry, max_ttl_s); unset when unauthenticated. See AuthenticationRenewal for what happens then.
    std::optional<std::chrono::steady_clock::time_point> authenticated_until;
    std::string detail;        // human-readable cause for logs
    double seconds = 0;
};

class InboundHandshake : public ServerNameHandler {
public:
    // Called exactly once, as the handshake's last action; the owner may destroy the handshake inside it.
    // On success `ssl` and `fd` are handed over; on failure `ssl` is null and the owner must close `fd`
    // (see LingeringCloser: the alert must reach the client).
    using Done = std::function<void(HandshakeOutcome outcome, SslPtr ssl, evutil_socket_t fd)>;

    InboundHandshake(event_base* base, SSL_CTX* ctx, evutil_socket_t fd, const ClientAuthPolicy& policy,
                     dns::TlsaResolver& resolver, PendingDnsBudget& budget, Done done);
    ~InboundHandshake() override;
    InboundHandshake(const InboundHandshake&) = delete;
    InboundHandshake& operator=(const InboundHandshake&) = delete;

    void start();

    int on_client_name(SSL* ssl, const ParsedClientName& client_name, int* alert) override;
    int on_verify(int preverify_ok, X509_STORE_CTX* store);

private:
    void drive();
    void wait_for_socket(short what);
    void on_paused();
    void start_lookup();
    void on_lookup_done(const dns::TlsaResult& result);
    void keep_tlsa(dns::TlsaResult result);
    void resume_soon();
    void on_timeout();
    bool paused_in_openssl() const;
    void stop_waiting(HandshakeResult reason, std::string detail);
    void finish_paused_job();
    void stop_events();
    void succeed();
    void fail(HandshakeResult reason, std::string detail);
    int reject(HandshakeResult reason, std::string detail);
    bool apply_tlsa_records(SSL* ssl);
    void release_dns_slot();
    HandshakeResult classify_ssl_failure(int ssl_error, std::string& detail) const;

    static void socket_ready(evutil_socket_t, short, void* self);
    static void timer_fired(evutil_socket_t, short, void* self);
    static void resume_fired(evutil_socket_t, short, void* self);

    event_base* base_;
    SslPtr ssl_;
    evutil_socket_t fd_;
    const ClientAuthPolicy& policy_;
    dns::TlsaResolver& resolver_;
    PendingDnsBudget& budget_;
    Done done_;
    EventPtr socket_event_;
    EventPtr timer_event_;
    EventPtr resume_event_;
    std::chrono::steady_clock::time_point started_;

    bool clientid_seen_ = false;
    bool lookup_requested_ = false;
    bool holds_dns_slot_ = false;
    std::string client_name_;
    std::optional<dns::TlsaResult> tlsa_;
    std::chrono::steady_clock::time_point tlsa_valid_until_;
    dns::PendingLookupPtr pending_lookup_;
    std::optional<HandshakeResult> failure_reason_;
    std::string failure_detail_;
};

// The verify callback for inbound SSL_CTXs; routes to the connection's InboundHandshake.
int verify_inbound_client(int preverify_ok, X509_STORE_CTX* store);

}  // namespace dance::proxy
