#include "proxy/upstream/upstream_connection.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/time_util.hpp"
#include "proxy/net/write_now.hpp"
#include "proxy/tls/peer_rejection.hpp"

namespace dance::proxy {
UpstreamConnection::UpstreamConnection(BuffereventPtr connection, HttpParseLimits limits)
    : connection_(std::move(connection)), parser_(limits) {}

void UpstreamConnection::exchange(const HttpRequest& request, ExchangeDone done) {
    exchange_done_ = std::move(done);
    on_dead_ = nullptr;
    ++exchanges_started_;
    head_request_ = request.method == "HEAD";
    parser_.expect_no_body(head_request_);
    bufferevent_set_timeouts(connection_.get(), nullptr, nullptr);  // the pool's request deadline rules
    bufferevent_setcb(connection_.get(), &UpstreamConnection::on_read, nullptr, &UpstreamConnection::on_event, this);
    std::string bytes = serialize(request);
    request_size_ = bytes.size();
    bufferevent_write(connection_.get(), bytes.data(), bytes.size());
    bufferevent_enable(connection_.get(), EV_READ | EV_WRITE);
    write_now(connection_.get());
}

bool UpstreamConnection::request_bytes_sent() const {
    return evbuffer_get_length(bufferevent_get_output(connection_.get())) < request_size_ || parser_.message_started();
}

void UpstreamConnection::watch_idle(std::uint32_t idle_timeout_ms, DeathHandler on_dead) {
    on_dead_ = std::move(on_dead);
    exchange_done_ = nullptr;
    request_size_ = 0;
    timeval timeout = milliseconds_to_timeval(idle_timeout_ms);
    bufferevent_set_timeouts(connection_.get(), &timeout, nullptr);
    bufferevent_setcb(connection_.get(), &UpstreamConnection::on_read, nullptr, &UpstreamConnection::on_event, this);
    bufferevent_enable(connection_.get(), EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(connection_.get())) > 0)
        bufferevent_trigger(connection_.get(), EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

bool UpstreamConnection::looks_alive() const {
    if (!on_dead_) return false;  // already reported dead
    char byte;
    ssize_t n = recv(bufferevent_getfd(connection_.get()), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // Pending bytes are judged by the idle watch (a TLS layer may legitimately have records to read).
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void UpstreamConnection::on_read(bufferevent*, void* self) {
    auto* connection = static_cast<UpstreamConnection*>(self);
    if (connection->on_dead_) {
        connection->die_idle("unsolicited bytes from an idle connection");
    } else if (connection->exchange_done_) {
        connection->read_response();
    }
}

void UpstreamConnection::on_event(bufferevent*, short what, void* self) {
    if (what & BEV_EVENT_CONNECTED) return;  // a TLS bufferevent finishing its handshake: not an ending
    auto* connection = static_cast<UpstreamConnection*>(self);
    if (connection->on_dead_) {
        connection->die_idle(what & BEV_EVENT_EOF ? "closed by the server while idle"
                             : what & BEV_EVENT_TIMEOUT ? "idle timeout"
                                                        : "error while idle");
    } else if (connection->exchange_done_) {
        // exchange() removed the idle watch's timeout, but one that fired in this loop pass is already queued
        // and still arrives: it is not this exchange's (the pool's request deadline rules exchanges).
        if (what & BEV_EVENT_TIMEOUT) {
            bufferevent_enable(connection->connection_.get(), EV_READ);  // a socket bufferevent disabled it
            return;
        }
        connection->handle_end_of_stream(what);
    }
}

void UpstreamConnection::read_response() {
    evbuffer* input = bufferevent_get_input(connection_.get());
    while (parser_.parse_from(input)) {
        HttpResponse response = parser_.take_response();
        if (response.status < 200 && response.status != 101) {
            parser_.expect_no_body(head_request_);  // the final answer to a HEAD still has no body
            continue;
        }
        if (response.status == 101) {
            finish({std::nullopt, {UpstreamError::protocol_error, "unexpected 101 Switching Protocols", {}}, true, false});
            return;
        }
        bool reusable = parser_.keep_alive() && response.wants_keep_alive() && evbuffer_get_length(input) == 0;
        finish({std::move(response), {}, true, reusable});
        return;
    }
    if (!parser_.failed()) return;
    auto kind = parser_.error() == HttpParseError::malformed ? UpstreamError::protocol_error : UpstreamError::response_too_large;
    finish({std::nullopt, {kind, "bad response: " + parser_.error_description(), {}}, true, false});
}

void UpstreamConnection::handle_end_of_stream(short what) {
    if ((what & BEV_EVENT_EOF) && parser_.finish_at_eof()) {
        finish({parser_.take_response(), {}, true, false});
        return;
    }
    bool sent = request_bytes_sent();
    if (!sent) {
        // Reported as not sent, so the pool may send it on another connection: it must never leave on this one
        // (a write already queued in this loop pass would send it anyway, and the server would get it twice).
        bufferevent_disable(connection_.get(), EV_WRITE);
        evbuffer* output = bufferevent_get_output(connection_.get());
        evbuffer_drain(output, evbuffer_get_length(output));
    }
    finish({std::nullopt, classify_stream_failure(what), sent, false});
}

UpstreamFailure UpstreamConnection::classify_stream_failure(short what) {
    if (unsigned long tls_error = take_tls_error(); tls_error != 0) {
        int reason = ERR_GET_REASON(tls_error);
        char text[256];
        ERR_error_string_n(tls_error, text, sizeof text);
        std::string description = std::string("TLS: ") + text;
        if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return {UpstreamError::closed_before_response, "server closed the connection without TLS close_notify", {}};
        if (exchanges_started_ == 1 && is_peer_rejection(tls_error))
            return {UpstreamError::peer_rejected, "server rejected our identity: " + description, {}};
        return {UpstreamError::tls_failed, description, {}};
    }
    if (parser_.failed()) return {UpstreamError::protocol_error, "bad response: " + parser_.error_description(), {}};
    if (what & BEV_EVENT_EOF) return {UpstreamError::closed_before_response, "server closed the connection before a complete response", {}};
    return {UpstreamError::closed_before_response,
            std::string("connection error: ") + evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), {}};
}

unsigned long UpstreamConnection::take_tls_error() {
    // libevent records SSL_get_error()'s code (library 0) next to the real OpenSSL errors: skip it.
    unsigned long chosen = 0;
    while (unsigned long error = bufferevent_get_openssl_error(connection_.get())) {
        if (ERR_GET_LIB(error) != 0 || chosen == 0) chosen = error;
    }
    return chosen != 0 && ERR_GET_LIB(chosen) == 0 ? 0 : chosen;
}

// Reading stays enabled: the pool either drops this connection or watches it idle next, and toggling
// EV_READ off and on again would cost two epoll_ctl calls per request. Bytes arriving in between stay
// buffered and are judged by watch_idle().
void UpstreamConnection::finish(ExchangeOutcome outcome) {
    auto done = std::move(exchange_done_);
    exchange_done_ = nullptr;
    done(std::move(outcome));  // may destroy this connection: nothing after
}

void UpstreamConnection::die_idle(std::string why) {
    bufferevent_disable(connection_.get(), EV_READ);
    auto on_dead = std::move(on_dead_);
    on_dead_ = nullptr;
    on_dead(std::move(why));  // may destroy this connection: nothing after
}

}  // namespace dance::proxy
