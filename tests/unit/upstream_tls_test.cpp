// The relay pieces over TLS bufferevents: they must not care about the transport, and a server's TLS
// rejection of our client certificate (arriving on the first read in TLS 1.3) must read as peer_rejected.
#include <doctest/doctest.h>

#include <optional>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/c_handles.hpp"
#include "http_test_support.hpp"
#include "proxy/upstream/upstream_pool.hpp"
#include "tls_test_support.hpp"

using namespace dance;
using namespace dance::proxy;
using namespace dance::proxy::testing;

namespace {

SslCtxPtr make_context(bool server, const Identity* identity, bool require_client_certificate) {
    SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    if (identity) {
        SSL_CTX_use_certificate(ctx.get(), identity->certificate.get());
        SSL_CTX_use_PrivateKey(ctx.get(), identity->key.get());
    }
    if (require_client_certificate) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, [](int, X509_STORE_CTX*) { return 1; });
    }
    return ctx;
}

// TLS in front of HttpServerSessions: each accepted socket becomes an accepting TLS bufferevent.
class TlsSessionServer {
public:
    TlsSessionServer(event_base* base, SSL_CTX* ctx, HttpServerSession::RequestHandler handler)
        : base_(base), ctx_(ctx), handler_(std::move(handler)), listener_(base, [this](evutil_socket_t fd) { accept(fd); }) {}
    uint16_t port() const { return listener_.port(); }
    int accepted = 0;

private:
    void accept(evutil_socket_t fd) {
        ++accepted;
        bufferevent* bev = bufferevent_openssl_socket_new(base_, fd, SSL_new(ctx_), BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
        sessions_.emplace_back();
        auto it = std::prev(sessions_.end());
        *it = std::make_unique<HttpServerSession>(bev, HttpServerSessionOptions{}, handler_, [this, it] { sessions_.erase(it); });
    }
    event_base* base_;
    SSL_CTX* ctx_;
    HttpServerSession::RequestHandler handler_;
    std::list<std::unique_ptr<HttpServerSession>> sessions_;
    TestListener listener_;
};

// A connector that completes a TLS handshake before handing the bufferevent over, like the real one.
class TlsConnectAttemptForTest final : public ConnectAttempt {
public:
    TlsConnectAttemptForTest(event_base* base, SSL_CTX* ctx, uint16_t port, ConnectCallback done) : done_(std::move(done)) {
        connection_.reset(bufferevent_openssl_socket_new(base, -1, SSL_new(ctx), BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE));
        bufferevent_setcb(connection_.get(), nullptr, nullptr, &TlsConnectAttemptForTest::on_event, this);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        bufferevent_socket_connect(connection_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    }

private:
    static void on_event(bufferevent* bev, short what, void* self) {
        auto* attempt = static_cast<TlsConnectAttemptForTest*>(self);
        auto done = std::move(attempt->done_);
        if (what & BEV_EVENT_CONNECTED) {
            bufferevent_setcb(bev, nullptr, nullptr, nullptr, nullptr);
            done(ConnectOutcome::ready(std::move(attempt->connection_)));
        } else {
            done(ConnectOutcome::failed(UpstreamError::tls_failed, "handshake failed"));
        }
    }
    ConnectCallback done_;
    BuffereventPtr connection_;
};

Connector tls_connector(event_base* base, SSL_CTX* ctx, uint16_t port) {
    return [=](ConnectCallback done) -> std::unique_ptr<ConnectAttempt> {
        return std::make_unique<TlsConnectAttemptForTest>(base, ctx, port, std::move(done));
    };
}

HttpRequest post(std::string body) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/api";
    request.add_header("Content-Type", "application/json");
    request.body = std::move(body);
    return request;
}

}  // namespace

TEST_CASE("pool and session over TLS: keep-alive reuse works the same") {
    EventLoop loop;
    auto server_identity = make_self_signed("js.test");
    auto server_ctx = make_context(true, &server_identity, false);
    auto client_ctx = make_context(false, nullptr, false);
    TlsSessionServer server(loop.base(), server_ctx.get(), [](HttpRequest&& request, ResponseWriter writer) {
        writer(make_response(200, "echo:" + request.body, "application/json"));
    });
    UpstreamPool pool(loop.base(), tls_connector(loop.base(), client_ctx.get(), server.port()), {});
    for (int i = 0; i < 5; ++i) {
        std::optional<UpstreamResult> result;
        pool.send(post("{\"n\":" + std::to_string(i) + "}"), [&](UpstreamResult r) { result = std::move(r); });
        REQUIRE(loop.run_until([&] { return result.has_value(); }));
        CAPTURE(i);
        CAPTURE(result->failure.description);
        CAPTURE(to_string(result->failure.kind));
        REQUIRE(result->ok());
        CHECK(result->response->body == "echo:{\"n\":" + std::to_string(i) + "}");
    }
    CHECK(pool.stats().connections_opened == 1);
    CHECK(pool.stats().reuses == 4);
    CHECK(server.accepted == 1);
}

TEST_CASE("a TLS 1.3 server rejecting our (missing) client certificate reads as peer_rejected") {
    EventLoop loop;
    auto server_identity = make_self_signed("js.test");
    auto server_ctx = make_context(true, &server_identity, true);
    auto client_ctx = make_context(false, nullptr, false);
    int handled = 0;
    TlsSessionServer server(loop.base(), server_ctx.get(), [&](HttpRequest&&, ResponseWriter writer) {
        ++handled;
        writer(make_response(200));
    });
    UpstreamPool pool(loop.base(), tls_connector(loop.base(), client_ctx.get(), server.port()), {});
    std::optional<UpstreamResult> result;
    pool.send(post("{}"), [&](UpstreamResult r) { result = std::move(r); });
    REQUIRE(loop.run_until([&] { return result.has_value(); }));
    REQUIRE_FALSE(result->ok());
    CAPTURE(result->failure.description);
    CHECK(result->failure.kind == UpstreamError::peer_rejected);
    CHECK(handled == 0);
    ERR_clear_error();
}
