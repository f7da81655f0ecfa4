#include "tests/bench/handshake_client.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "proxy/tls/handshake_result.hpp"
#include "proxy/tls/peer_rejection.hpp"

namespace dance::bench {

HandshakeClient::HandshakeClient(event_base* base, SSL_CTX* ctx, const proxy::TlsConnectTarget& target,
                                 const std::string& request_wire, Done done)
    : base_(base), ctx_(ctx), target_(target), request_wire_(request_wire), done_(std::move(done)) {}

void HandshakeClient::start() {
    connection_.reset();
    parser_.emplace();
    started_ = std::chrono::steady_clock::now();
    attempt_ = proxy::connect_tls(base_, ctx_, target_,
                                  [this](proxy::TlsConnectResult result) { on_connected(std::move(result)); });
}

void HandshakeClient::on_connected(proxy::TlsConnectResult result) {
    if (result.reason != proxy::HandshakeResult::ok) {
        return finish(false, std::string(to_string(result.reason)) + ": " + result.detail);
    }
    connection_ = std::move(result.connection);
    if (request_wire_.empty()) return finish(true, "");  // hold: the connection stays open, idle
    bufferevent_setcb(connection_.get(), readable, nullptr, event_fired, this);
    bufferevent_enable(connection_.get(), EV_READ | EV_WRITE);
    bufferevent_write(connection_.get(), request_wire_.data(), request_wire_.size());
}

void HandshakeClient::on_readable() {
    if (!parser_->parse_from(bufferevent_get_input(connection_.get()))) {
        if (parser_->failed()) finish(false, "http: " + parser_->error_description());
        return;
    }
    const int status = parser_->take_response().status;
    connection_.reset();  // one request per connection: the next handshake is the point
    if (status < 200 || status >= 300) return finish(false, "http status " + std::to_string(status));
    finish(true, "");
}

void HandshakeClient::on_event(short what) {
    unsigned long tls_error = bufferevent_get_openssl_error(connection_.get());
    std::string error = (what & BEV_EVENT_EOF) ? "closed before the answer" : "connection error";
    if (tls_error != 0) {
        char text[256];
        ERR_error_string_n(tls_error, text, sizeof text);
        error = proxy::is_peer_rejection(tls_error) ? std::string("peer rejected us: ") + text : text;
    }
    ERR_clear_error();
    connection_.reset();
    finish(false, error);
}

void HandshakeClient::finish(bool ok, std::string error) {
    ClientOutcome outcome;
    outcome.ok = ok;
    outcome.error = std::move(error);
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (!ok) connection_.reset();
    done_(std::move(outcome));  // may call start() again
}

void HandshakeClient::readable(bufferevent*, void* self) { static_cast<HandshakeClient*>(self)->on_readable(); }

void HandshakeClient::event_fired(bufferevent*, short what, void* self) {
    static_cast<HandshakeClient*>(self)->on_event(what);
}

}  // namespace dance::bench
