// One benchmark client slot: a fresh TLS 1.3 connection made with proxy::connect_tls (the code behind
// `probe` and the outbound side), then optionally one HTTP request; reports the outcome and, when asked to
// hold, keeps the established connection open.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/http/http_parser_response.hpp"
#include "base/c_handles.hpp"
#include "proxy/tls/tls_connector.hpp"

namespace dance::bench {

struct ClientOutcome {
    bool ok = false;
    std::string error;   // reason: detail, when !ok
    double seconds = 0;  // connect start to answer (or to handshake when no request is sent)
};

class HandshakeClient {
public:
    using Done = std::function<void(ClientOutcome)>;

    // `request_wire` empty: stop after the handshake and keep the connection (idle-connection test).
    HandshakeClient(event_base* base, SSL_CTX* ctx, const proxy::TlsConnectTarget& target,
                    const std::string& request_wire, Done done);

    void start();  // may be called again after done, to make the next connection

private:
    void on_connected(proxy::TlsConnectResult result);
    void on_readable();
    void on_event(short what);
    void finish(bool ok, std::string error);

    static void readable(bufferevent*, void* self);
    static void event_fired(bufferevent*, short what, void* self);

    event_base* base_;
    SSL_CTX* ctx_;
    const proxy::TlsConnectTarget& target_;
    const std::string& request_wire_;
    Done done_;
    std::unique_ptr<proxy::TlsConnectAttempt> attempt_;
    dance::BuffereventPtr connection_;
    std::optional<proxy::HttpResponseParser> parser_;  // fresh for each connection
    std::chrono::steady_clock::time_point started_;
};

}  // namespace dance::bench
