#include "proxy/inbound/inbound_handshake.hpp"

#include <sys/socket.h>

#include <openssl/async.h>
#include <openssl/err.h>

#include "base/time_util.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "proxy/tls/raw_public_key.hpp"
#include "proxy/tls/tls_context.hpp"

namespace dance::proxy {
namespace {

int handshake_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

}  // namespace

int verify_inbound_client(int preverify_ok, X509_STORE_CTX* store) {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* handshake = ssl ? static_cast<InboundHandshake*>(SSL_get_ex_data(ssl, handshake_index())) : nullptr;
    if (handshake == nullptr) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return handshake->on_verify(preverify_ok, store);
}

InboundHandshake::InboundHandshake(event_base* base, SSL_CTX* ctx, evutil_socket_t fd,
                                   const ClientAuthPolicy& policy, std::unique_ptr<ClientIdentityVerifier> verifier,
                                   Done done)
    : base_(base),
      ssl_(SSL_new(ctx)),
      fd_(fd),
      policy_(policy),
      verifier_(std::move(verifier)),
      done_(std::move(done)),
      socket_event_(event_new(base, fd, EV_READ, socket_ready, this)),
      timer_event_(evtimer_new(base, timer_fired, this)),
      resume_event_(evtimer_new(base, resume_fired, this)),
      started_(std::chrono::steady_clock::now()) {}

InboundHandshake::~InboundHandshake() {
    finish_paused_job();
    if (verifier_) verifier_->abandon();
    if (ssl_) {  // the owner tears down mid-handshake (shutdown)
        ssl_.reset();
        evutil_closesocket(fd_);
    }
}

void InboundHandshake::start() {
    if (!ssl_ || !socket_event_ || !timer_event_ || !resume_event_ || !verifier_) {
        return fail(HandshakeResult::tls_error, "out of memory");
    }
    SSL_set_fd(ssl_.get(), static_cast<int>(fd_));
    SSL_set_accept_state(ssl_.get());
    SSL_set_mode(ssl_.get(), SSL_MODE_ASYNC);
    SSL_set_ex_data(ssl_.get(), handshake_index(), this);
    attach_server_name_handler(ssl_.get(), this);
    timeval limit = milliseconds_to_timeval(policy_.handshake_ms);
    evtimer_add(timer_event_.get(), &limit);
    drive();
}

bool InboundHandshake::still_in_client_hello() const {
    if (!ssl_) return false;
    OSSL_HANDSHAKE_STATE state = SSL_get_state(ssl_.get());
    return state == TLS_ST_BEFORE || state == TLS_ST_SR_CLNT_HELLO;
}

void InboundHandshake::drive() {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) return succeed();
    int ssl_error = SSL_get_error(ssl_.get(), rc);
    switch (ssl_error) {
        case SSL_ERROR_WANT_READ: return wait_for_socket(EV_READ);
        case SSL_ERROR_WANT_WRITE: return wait_for_socket(EV_WRITE);
        case SSL_ERROR_WANT_ASYNC:
            event_del(socket_event_.get());
            return on_paused();
        case SSL_ERROR_WANT_ASYNC_JOB: return fail(HandshakeResult::too_many_pending, "no free async job for the handshake");
        default: {
            std::string detail;
            HandshakeResult reason = classify_ssl_failure(ssl_error, detail);
            return fail(reason, std::move(detail));
        }
    }
}

void InboundHandshake::wait_for_socket(short what) {
    event_del(socket_event_.get());
    event_assign(socket_event_.get(), base_, fd_, what, socket_ready, this);
    event_add(socket_event_.get(), nullptr);
}

// Outside the job now, on the loop's own stack: the lookup may start here.
void InboundHandshake::on_paused() {
    if (!identity_pending_ || identity_resolving_ || identity_settled_) return;  // resumed by settle or timeout
    identity_resolving_ = true;
    IdentityVerdict verdict = verifier_->resolve([this] { on_identity_settled(); });
    if (verdict.is_refused()) {
        identity_resolving_ = false;
        reject(verdict);
        identity_settled_ = true;
        resume_soon();
    }
}

void InboundHandshake::on_identity_settled() {
    identity_resolving_ = false;
    identity_settled_ = true;
    resume_soon();  // resume from a clean stack, not from inside the resolver's callback
}

void InboundHandshake::resume_soon() {
    event_active(resume_event_.get(), EV_TIMEOUT, 0);
}

bool InboundHandshake::paused_in_openssl() const { return ssl_ && SSL_waiting_for_async(ssl_.get()) == 1; }

// Ends the wait of a paused handshake: whatever was scheduled (an answer, a resume) no longer runs, and the
// extension callback, once resumed, refuses with `reason` unless it already had a reason to refuse.
void InboundHandshake::stop_waiting(HandshakeResult reason, std::string detail) {
    event_del(resume_event_.get());
    verifier_->abandon();
    identity_resolving_ = false;
    identity_settled_ = true;
    reject(reason, std::move(detail));
}

void InboundHandshake::on_timeout() {
    if (paused_in_openssl()) {
        // Even if the answer is in and its resume scheduled: the budget is spent. OpenSSL finishes the job
        // with the refusal (sending handshake_failure) and frees its fibre; drive() then reports the failure.
        stop_waiting(HandshakeResult::timeout, "handshake timed out waiting for DNS");
        return drive();
    }
    fail(HandshakeResult::timeout, "handshake not completed in time");
}

// An SSL* must never be freed while OpenSSL holds a paused job for it: the job (a fibre and its stack) would
// leak, and a scheduled resume would run on freed memory. Resumes the job once; it ends at the refusal.
void InboundHandshake::finish_paused_job() {
    if (!paused_in_openssl()) return;
    stop_waiting(HandshakeResult::tls_error, "handshake abandoned while waiting for DNS");
    for (int attempt = 0; attempt < 4 && SSL_waiting_for_async(ssl_.get()) == 1; ++attempt) {
        SSL_do_handshake(ssl_.get());
    }
    ERR_clear_error();
}

int InboundHandshake::on_client_name(SSL* ssl, const ParsedClientName& client_name, int* alert) {
    clientid_seen_ = true;
    *alert = SSL_AD_HANDSHAKE_FAILURE;
    IdentityVerdict verdict = verifier_->check_name(client_name);
    if (verdict.is_refused()) return reject(verdict);
    if (verdict.status == IdentityVerdict::Status::pending) {
        if (ASYNC_get_current_job() == nullptr) return reject(HandshakeResult::tls_error, "handshake not in async mode");
        identity_pending_ = true;
        while (!identity_settled_) ASYNC_pause_job();  // SSL_do_handshake returns WANT_ASYNC to drive()
        if (failure_reason_) return 0;
        verdict = verifier_->verdict();
        if (verdict.is_refused()) return reject(verdict);
    }
    verdict = verifier_->apply_records(ssl);
    if (verdict.is_refused()) return reject(verdict);
    return 1;
}

int InboundHandshake::on_verify(int preverify_ok, X509_STORE_CTX* store) {
    if (!clientid_seen_) {
        if (policy_.mode == config::ClientAuthMode::optional) return 1;  // forwarded unauthenticated
        failure_reason_ = HandshakeResult::no_clientid;
        failure_detail_ = "client certificate without dane_clientid";
    } else if (preverify_ok) {
        return 1;
    } else {
        int error = X509_STORE_CTX_get_error(store);
        failure_reason_ = error == X509_V_ERR_HOSTNAME_MISMATCH ? HandshakeResult::name_mismatch : HandshakeResult::tlsa_mismatch;
        failure_detail_ = X509_verify_cert_error_string(error);
    }
    // Makes OpenSSL send handshake_failure instead of bad_certificate.
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

int InboundHandshake::reject(HandshakeResult reason, std::string detail) {
    if (!failure_reason_) {
        failure_reason_ = reason;
        failure_detail_ = std::move(detail);
    }
    return 0;
}

HandshakeResult InboundHandshake::classify_ssl_failure(int ssl_error, std::string& detail) const {
    if (failure_reason_) {
        detail = failure_detail_;
        return *failure_reason_;
    }
    if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
        detail = "client closed the connection";
        return HandshakeResult::tls_error;
    }
    unsigned long code = ERR_peek_error();
    detail = take_openssl_error();
    switch (ERR_GET_REASON(code)) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_WRONG_VERSION_NUMBER: return HandshakeResult::protocol_version;
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return HandshakeResult::no_certificate;
        default: return HandshakeResult::tls_error;
    }
}

void InboundHandshake::succeed() {
    if (policy_.mode == config::ClientAuthMode::require) {
        if (!peer_sent_credential(ssl_.get())) {
            return fail(HandshakeResult::no_certificate, "client sent no certificate");
        }
        if (!clientid_seen_) {  // refused in on_verify already; kept as defence in depth
            return fail(HandshakeResult::no_clientid, "client certificate without dane_clientid");
        }
    }
    HandshakeOutcome outcome;
    outcome.seconds = seconds_since(started_);
    if (clientid_seen_) {
        uint8_t usage = 0, selector = 0, matching = 0;
        const unsigned char* data = nullptr;
        size_t data_size = 0;
        // Defence in depth: a "successful" handshake that DANE did not authenticate is refused.
        if (SSL_get0_dane_tlsa(ssl_.get(), &usage, &selector, &matching, &data, &data_size) < 0 ||
            SSL_get_verify_result(ssl_.get()) != X509_V_OK) {
            return fail(HandshakeResult::tlsa_mismatch, "handshake completed without a DANE match");
        }
        outcome.client_name = verifier_->client_name();
        outcome.authenticated_until = verifier_->valid_until();
        outcome.matched_record = {usage, selector, matching, std::vector<uint8_t>(data, data + data_size)};
        outcome.matched_tlsa = outcome.matched_record.parameters();
        outcome.raw_public_key = peer_sent_raw_public_key(ssl_.get());
    }
    outcome.reason = HandshakeResult::ok;
    stop_events();
    SSL_clear_mode(ssl_.get(), SSL_MODE_ASYNC);
    SSL_set_ex_data(ssl_.get(), handshake_index(), nullptr);
    attach_server_name_handler(ssl_.get(), nullptr);
    Done done = std::move(done_);
    done(std::move(outcome), std::move(ssl_), fd_);
}

void InboundHandshake::stop_events() {
    event_del(timer_event_.get());
    event_del(socket_event_.get());
    event_del(resume_event_.get());
}

void InboundHandshake::fail(HandshakeResult reason, std::string detail) {
    finish_paused_job();
    stop_events();
    HandshakeOutcome outcome;
    if (verifier_) {
        verifier_->abandon();
        outcome.client_name = verifier_->client_name();
    }
    outcome.reason = reason;
    outcome.detail = std::move(detail);
    outcome.seconds = seconds_since(started_);
    ssl_.reset();  // the alert is already on the wire; the owner closes the socket gently
    Done done = std::move(done_);
    done(std::move(outcome), nullptr, fd_);
}

void InboundHandshake::socket_ready(evutil_socket_t, short, void* self) {
    static_cast<InboundHandshake*>(self)->drive();
}

void InboundHandshake::timer_fired(evutil_socket_t, short, void* self) {
    static_cast<InboundHandshake*>(self)->on_timeout();
}

void InboundHandshake::resume_fired(evutil_socket_t, short, void* self) {
    static_cast<InboundHandshake*>(self)->drive();
}

}  // namespace dance::proxy
