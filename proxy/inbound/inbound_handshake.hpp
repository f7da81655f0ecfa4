// One server-side TLS 1.3 handshake with DANE client authentication, driven by hand on socket events.
//
// The client's ClientName arrives inside its Certificate message. The handshake asks its
// ClientIdentityVerifier about it; when the verifier needs a DNS lookup the handshake pauses (SSL_MODE_ASYNC +
// ASYNC_pause_job in the extension callback), the lookup runs on the event loop, and the handshake resumes
// where it paused. OpenSSL's DANE verifier then checks the chain against the records the verifier applied.
//
// A paused handshake is never freed under OpenSSL: every way out (timeout, refusal, teardown) resumes the job
// with a refusal first, so OpenSSL sends the alert and releases the job.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <event2/util.h>

#include "base/c_handles.hpp"
#include "dns/tlsa_record.hpp"
#include "proxy/auth/client_auth_policy.hpp"
#include "proxy/auth/client_identity_verifier.hpp"
#include "proxy/tls/dane_clientid.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {

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
    bool raw_public_key = false;  // authenticated by an RFC 7250 raw public key, not a certificate
};

class InboundHandshake : public ServerNameHandler {
public:
    // Called exactly once, as the handshake's last action; the owner may destroy the handshake inside it.
    // On success `ssl` and `fd` are handed over; on failure `ssl` is null and the owner must close `fd`
    // (see LingeringCloser: the alert must reach the client).
    using Done = std::function<void(HandshakeOutcome outcome, SslPtr ssl, evutil_socket_t fd)>;

    InboundHandshake(event_base* base, SSL_CTX* ctx, evutil_socket_t fd, const ClientAuthPolicy& policy,
                     std::unique_ptr<ClientIdentityVerifier> verifier, Done done);
    ~InboundHandshake() override;
    InboundHandshake(const InboundHandshake&) = delete;
    InboundHandshake& operator=(const InboundHandshake&) = delete;

    void start();
    // The client has not yet sent a whole ClientHello: nothing about it is known, nothing was spent on it.
    bool still_in_client_hello() const;
    // Paused on the client's TLSA lookup: a client that sent its whole flight and awaits our verdict.
    bool waiting_for_dns() const { return identity_pending_ && !identity_settled_; }

    int on_client_name(SSL* ssl, const ParsedClientName& client_name, int* alert) override;
    int on_verify(int preverify_ok, X509_STORE_CTX* store);

private:
    void drive();
    void wait_for_socket(short what);
    void on_paused();
    void on_identity_settled();
    void resume_soon();
    void on_timeout();
    bool paused_in_openssl() const;
    void stop_waiting(HandshakeResult reason, std::string detail);
    void finish_paused_job();
    void stop_events();
    void succeed();
    void fail(HandshakeResult reason, std::string detail);
    int reject(HandshakeResult reason, std::string detail);
    int reject(const IdentityVerdict& verdict) { return reject(verdict.refusal, verdict.detail); }
    HandshakeResult classify_ssl_failure(int ssl_error, std::string& detail) const;

    static void socket_ready(evutil_socket_t, short, void* self);
    static void timer_fired(evutil_socket_t, short, void* self);
    static void resume_fired(evutil_socket_t, short, void* self);

    event_base* base_;
    SslPtr ssl_;
    evutil_socket_t fd_;
    const ClientAuthPolicy& policy_;
    std::unique_ptr<ClientIdentityVerifier> verifier_;
    Done done_;
    EventPtr socket_event_;
    EventPtr timer_event_;
    EventPtr resume_event_;
    std::chrono::steady_clock::time_point started_;

    bool clientid_seen_ = false;
    bool identity_pending_ = false;   // the verifier needs a lookup; the job pauses until settled
    bool identity_resolving_ = false; // the lookup runs
    bool identity_settled_ = false;   // answered, refused or abandoned: the paused job may go on
    std::optional<HandshakeResult> failure_reason_;
    std::string failure_detail_;
};

// The verify callback for inbound SSL_CTXs; routes to the connection's InboundHandshake.
int verify_inbound_client(int preverify_ok, X509_STORE_CTX* store);

}  // namespace dance::proxy
