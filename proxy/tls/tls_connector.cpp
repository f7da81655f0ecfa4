#include "proxy/tls/tls_connector.hpp"

#include <chrono>
#include <optional>
#include <cstring>

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/ip_literal.hpp"
#include "base/time_util.hpp"
#include "proxy/tls/dane_records.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "proxy/tls/peer_rejection.hpp"
#include "proxy/tls/raw_public_key.hpp"
#include "proxy/tls/tls_context.hpp"

namespace dance::proxy {
namespace {

class Attempt final : public TlsConnectAttempt {
public:
    Attempt(event_base* base, SSL_CTX* ctx, TlsConnectTarget target, TlsConnectCallback done)
        : base_(base), ctx_(ctx), target_(std::move(target)), done_(std::move(done)),
          started_(std::chrono::steady_clock::now()) {}

    ~Attempt() override { connect_event_.reset(); }

    // Failures found here are reported from the loop, never from inside connect_tls().
    void start() {
        timer_.reset(evtimer_new(base_, timer_fired, this));
        ssl_owner_.reset(SSL_new(ctx_));
        if (!ssl_owner_ || !timer_) return fail_soon(HandshakeResult::tls_error, "out of memory");
        if (!configure(ssl_owner_.get())) return;
        timeval limit = milliseconds_to_timeval(target_.timeout_ms);
        evtimer_add(timer_.get(), &limit);
        start_tcp_connect();
    }

private:
    // TCP first, on a raw socket: a refused connection is then told apart from a failed handshake.
    void start_tcp_connect() {
        auto address = socket_address(target_.address, target_.port);
        if (!address) return fail_soon(HandshakeResult::connect_failed, "not an IP address: " + target_.address);
        socket_.reset(::socket(address->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!socket_) return fail_soon(HandshakeResult::connect_failed, evutil_socket_error_to_string(errno));
        int one = 1;
        setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(socket_.get(), address->get(), address->length) != 0 && errno != EINPROGRESS) {
            return fail_soon(HandshakeResult::connect_failed, describe_connect_error(errno));
        }
        connect_event_.reset(event_new(base_, socket_.get(), EV_WRITE, tcp_connected, this));
        event_add(connect_event_.get(), nullptr);
    }

    std::string describe_connect_error(int error) const {
        return "connect to " + target_.address + " port " + std::to_string(target_.port) + ": " +
               evutil_socket_error_to_string(error);
    }

    void on_tcp_connected() {
        connect_event_.reset();
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) return fail(HandshakeResult::connect_failed, describe_connect_error(error));
        ssl_ = ssl_owner_.get();
        connection_.reset(bufferevent_openssl_socket_new(base_, socket_.get(), ssl_owner_.release(),
                                                         BUFFEREVENT_SSL_CONNECTING,
                                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
        if (!connection_) return fail(HandshakeResult::tls_error, "cannot create connection");
        socket_.release();  // owned by the bufferevent now
        bufferevent_openssl_set_allow_dirty_shutdown(connection_.get(), 1);
        bufferevent_setcb(connection_.get(), nullptr, nullptr, event_fired, this);
        bufferevent_enable(connection_.get(), EV_READ | EV_WRITE);
    }

    static void tcp_connected(evutil_socket_t, short, void* self) { static_cast<Attempt*>(self)->on_tcp_connected(); }

    bool configure(SSL* ssl) {
        identity_.encoded_name = encode_client_name(target_.client_id);
        attach_client_identity(ssl, &identity_);
        SSL_set_tlsext_host_name(ssl, target_.server_name.c_str());
        if (target_.verification == ServerVerification::none) {
            SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
            return true;
        }
        if (target_.verification == ServerVerification::pkix) {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(ssl, target_.server_name.c_str()) != 1) {
                fail_soon(HandshakeResult::tls_error, "bad server name");
                return false;
            }
            return true;
        }
        // PKIX usages are offered to OpenSSL; they verify only against a configured ca_file.
        DaneRecordsApplied applied = apply_tlsa_records(ssl, target_.server_name, target_.server_tlsa, true);
        if (!applied.error.empty()) {
            fail_soon(HandshakeResult::tls_error, applied.error);
            return false;
        }
        if (applied.usable == 0) {
            fail_soon(HandshakeResult::server_tlsa_mismatch, "no usable TLSA record for " + target_.server_name);
            return false;
        }
        return true;
    }

    void on_event(short what) {
        if (what & BEV_EVENT_CONNECTED) return on_handshake_done();
        HandshakeResult why = HandshakeResult::connect_failed;
        std::string detail;
        unsigned long tls_error = bufferevent_get_openssl_error(connection_.get());
        // libevent records bare SSL_ERROR_SYSCALL codes (library 0) for socket-level failures.
        if (tls_error != 0 && ERR_GET_LIB(tls_error) != 0) {
            char text[256];
            ERR_error_string_n(tls_error, text, sizeof text);
            detail = text;
            why = HandshakeResult::tls_error;
            if (ERR_GET_REASON(tls_error) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
                why = target_.verification == ServerVerification::dane ? HandshakeResult::server_tlsa_mismatch
                                                                      : HandshakeResult::tls_error;
                detail = std::string("server certificate: ") +
                         X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
            } else if (is_peer_rejection(tls_error)) {
                why = HandshakeResult::peer_rejected;
            }
        } else {
            why = HandshakeResult::tls_error;
            detail = "connection closed by the server during the handshake";
        }
        ERR_clear_error();
        fail(why, std::move(detail));
    }

    void on_handshake_done() {
        if (target_.require_offer && !identity_.server_offered) {
            return fail(HandshakeResult::no_offer, "server did not offer dane_clientid: our identity cannot be conveyed");
        }
        TlsConnectResult result = base_result(HandshakeResult::ok, "");
        uint8_t usage = 0, selector = 0, matching = 0;
        if (target_.verification == ServerVerification::dane &&
            SSL_get0_dane_tlsa(ssl_, &usage, &selector, &matching, nullptr, nullptr) >= 0) {
            result.server_tlsa_used =
                std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(matching);
        } else if (target_.verification == ServerVerification::dane) {
            return fail(HandshakeResult::server_tlsa_mismatch, "handshake completed without a DANE match");
        }
        bufferevent_setcb(connection_.get(), nullptr, nullptr, nullptr, nullptr);
        attach_client_identity(ssl_, nullptr);
        result.connection = std::move(connection_);
        finish(std::move(result));
    }

    TlsConnectResult base_result(HandshakeResult why, std::string detail) {
        TlsConnectResult result;
        result.reason = why;
        result.detail = std::move(detail);
        result.server_offered = identity_.server_offered;
        result.client_name_sent = identity_.name_sent;
        result.raw_public_key_sent = ssl_ != nullptr && client_raw_public_key_negotiated(ssl_);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        return result;
    }

    void fail(HandshakeResult why, std::string detail) {
        TlsConnectResult result = base_result(why, std::move(detail));
        connection_.reset();
        connect_event_.reset();
        socket_.reset();
        finish(std::move(result));
    }

    void fail_soon(HandshakeResult why, std::string detail) {
        early_failure_reason_ = why;
        early_failure_detail_ = std::move(detail);
        if (timer_) event_active(timer_.get(), EV_TIMEOUT, 0);
    }

    void on_timer() {
        if (early_failure_reason_) return fail(*early_failure_reason_, std::move(early_failure_detail_));
        fail(HandshakeResult::timeout, "connect and handshake not completed in time");
    }

    void finish(TlsConnectResult result) {
        timer_.reset();
        TlsConnectCallback done = std::move(done_);
        if (done) done(std::move(result));  // may destroy this
    }

    static void event_fired(bufferevent*, short what, void* self) { static_cast<Attempt*>(self)->on_event(what); }
    static void timer_fired(evutil_socket_t, short, void* self) { static_cast<Attempt*>(self)->on_timer(); }

    event_base* base_;
    SSL_CTX* ctx_;
    TlsConnectTarget target_;
    TlsConnectCallback done_;
    std::chrono::steady_clock::time_point started_;
    ClientIdentity identity_;
    EventPtr timer_;
    BuffereventPtr connection_;
    SslPtr ssl_owner_;    // until the bufferevent takes it
    SSL* ssl_ = nullptr;  // owned by connection_
    SocketFd socket_;
    EventPtr connect_event_;
    std::optional<HandshakeResult> early_failure_reason_;
    std::string early_failure_detail_;
};

}  // namespace

std::unique_ptr<TlsConnectAttempt> connect_tls(event_base* base, SSL_CTX* ctx, TlsConnectTarget target,
                                               TlsConnectCallback done) {
    auto attempt = std::make_unique<Attempt>(base, ctx, std::move(target), std::move(done));
    attempt->start();
    return attempt;
}

}  // namespace dance::proxy
