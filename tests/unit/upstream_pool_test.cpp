#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_test_support.hpp"
#include "proxy/upstream/upstream_pool.hpp"
#include "proxy/upstream/upstream_tcp_connector.hpp"

using namespace dance;
using namespace dance::proxy;
using namespace dance::proxy::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The echo backend, counting requests.
struct Backend {
    Backend(event_base* base, HttpServerSessionOptions options = {})
        : server(base, options, [this](HttpRequest&& request, ResponseWriter writer) {
              ++requests;
              if (on_request && on_request(request, writer)) return;
              echo_request(std::move(request), std::move(writer));
          }) {}
    int requests = 0;
    // Returns true if it took care of the request.
    std::function<bool(HttpRequest&, ResponseWriter&)> on_request;
    SessionServer server;
};

// HttpServerSession -> UpstreamPool(tcp) -> backend: the relay the sidecar builds, minus TLS.
struct Relay {
    Relay(event_base* base, uint16_t backend_port, UpstreamPoolOptions options = {})
        : pool(base, make_tcp_connector(base, {"127.0.0.1", backend_port}, 2000), options),
          front(base, {}, [this](HttpRequest&& request, ResponseWriter writer) { relay(std::move(request), writer); }) {}

    void relay(HttpRequest&& request, ResponseWriter writer) {
        strip_hop_by_hop_headers(request);
        request.remove_header("X-Test-Connection");
        pool.send(std::move(request), [writer](UpstreamResult result) mutable {
            if (!result.ok()) {
                auto answer = make_response(502, result.failure.description + "\n");
                answer.set_header("X-Upstream-Error", to_string(result.failure.kind));
                writer(std::move(answer));
                return;
            }
            strip_hop_by_hop_headers(*result.response);
            writer(std::move(*result.response));
        });
    }
    UpstreamPool pool;
    SessionServer front;
};

HttpRequest make_request(std::string target, std::string body = {}) {
    HttpRequest request;
    request.method = body.empty() ? "GET" : "POST";
    request.target = std::move(target);
    request.add_header("Host", "backend.test");
    request.body = std::move(body);
    return request;
}

// Sends through the pool and runs the loop until the result arrives.
UpstreamResult send_and_wait(EventLoop& loop, UpstreamPool& pool, HttpRequest request) {
    std::optional<UpstreamResult> result;
    pool.send(std::move(request), [&](UpstreamResult r) { result = std::move(r); });
    REQUIRE(loop.run_until([&] { return result.has_value(); }));
    return std::move(*result);
}

std::string url(uint16_t port, std::string_view path) { return "http://127.0.0.1:" + std::to_string(port) + std::string(path); }

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) out.push_back(json::parse(text.substr(start, end - start)));
        start = end + 1;
    }
    return out;
}

uint16_t unused_port(event_base* base) {
    TestListener listener(base, [](evutil_socket_t fd) { evutil_closesocket(fd); });
    return listener.port();
}

}  // namespace

TEST_CASE("curl keep-alive through the relay: five requests, one client and one upstream connection") {
    EventLoop loop;
    Backend backend(loop.base());
    Relay relay(loop.base(), backend.server.port());
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "-w", "\n"};
    for (int i = 1; i <= 5; ++i) argv.push_back(url(relay.front.port(), "/r" + std::to_string(i)));
    ChildProcess curl(loop.base(), argv);
    REQUIRE(loop.run_until([&] { return curl.finished(); }));
    CHECK(curl.exit_code() == 0);
    auto answers = json_lines(curl.output());
    REQUIRE(answers.size() == 5);
    for (int i = 0; i < 5; ++i) CHECK(answers[i]["target"] == "/r" + std::to_string(i + 1));
    CHECK(relay.front.connections_accepted() == 1);
    CHECK(backend.server.connections_accepted() == 1);
    auto stats = relay.pool.stats();
    CHECK(stats.connections_opened == 1);
    CHECK(stats.reuses == 4);
    CHECK(stats.responses == 5);
    CHECK(stats.idle_connections == 1);
}

TEST_CASE("a chunked request body is relayed de-chunked with Content-Length (curl, Expect: 100-continue)") {
    EventLoop loop;
    Backend backend(loop.base());
    Relay relay(loop.base(), backend.server.port());
    std::string body = "{\"MessageType\":\"JoinReq\",\"Pad\":\"" + std::string(5000, 'x') + "\"}";
    auto start = std::chrono::steady_clock::now();
    ChildProcess curl(loop.base(), {"curl", "-sS", "--max-time", "10", "-H", "Transfer-Encoding: chunked", "-H",
                                    "Content-Type: application/json", "--data-binary", body, url(relay.front.port(), "/join")});
    REQUIRE(loop.run_until([&] { return curl.finished(); }));
    CHECK(curl.exit_code() == 0);
    auto answer = json::parse(curl.output());
    CHECK(answer["method"] == "POST");
    CHECK(answer["body"] == body);
    CHECK(answer["content_length"] == std::to_string(body.size()));
    CHECK(answer["transfer_encoding"] == "");
    // curl waits a second for "100 Continue" when nobody sends it; the session sends it at once.
    CHECK(std::chrono::steady_clock::now() - start < 900ms);
}

TEST_CASE("pipelined requests through the relay come back in order") {
    EventLoop loop;
    Backend backend(loop.base());
    Relay relay(loop.base(), backend.server.port());
    RawClient client(loop.base(), relay.front.port());
    client.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return count_of(client.received(), "HTTP/1.1 200") == 3; }));
    auto a = client.received().find("\"target\":\"/a\"");
    auto b = client.received().find("\"target\":\"/b\"");
    auto c = client.received().find("\"target\":\"/c\"");
    CHECK(a < b);
    CHECK(b < c);
    CHECK(c != std::string::npos);
    CHECK(backend.requests == 3);
}

TEST_CASE("backend closes an idle connection: the next request succeeds on a new connection, without replay") {
    EventLoop loop;
    HttpServerSessionOptions backend_options;
    backend_options.idle_ms = 150;
    Backend backend(loop.base(), backend_options);
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), {});
    CHECK(send_and_wait(loop, pool, make_request("/1")).ok());
    REQUIRE(loop.run_until([&] { return pool.stats().idle_closed == 1; }, 5s));
    auto second = send_and_wait(loop, pool, make_request("/2"));
    REQUIRE(second.ok());
    CHECK(json::parse(second.response->body)["target"] == "/2");
    CHECK_FALSE(second.reused_connection);
    CHECK(backend.requests == 2);
    CHECK(backend.server.connections_accepted() == 2);
    CHECK(pool.stats().retries == 0);
    CHECK(pool.stats().connections_opened == 2);
}

TEST_CASE("an idle connection closed just before reuse is caught by the probe, not by a failed request") {
    EventLoop loop;
    Backend backend(loop.base());
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), {});
    CHECK(send_and_wait(loop, pool, make_request("/1")).ok());
    REQUIRE(pool.stats().idle_connections == 1);
    // Close the backend side and send at once, before the loop can tell the pool's idle watch.
    backend.server.shutdown_all_sockets();
    std::optional<UpstreamResult> result;
    pool.send(make_request("/2"), [&](UpstreamResult r) { result = std::move(r); });
    REQUIRE(loop.run_until([&] { return result.has_value(); }));
    REQUIRE(result->ok());
    CHECK_FALSE(result->reused_connection);
    CHECK(pool.stats().idle_closed == 1);
    CHECK(pool.stats().connections_opened == 2);
    CHECK(backend.requests == 2);
}

TEST_CASE("a request that may have reached the server is never replayed") {
    EventLoop loop;
    Backend backend(loop.base());
    backend.on_request = [&](HttpRequest& request, ResponseWriter&) {
        if (request.target != "/vanish") return false;
        backend.server.close_all();  // read the request, then drop the connection without answering
        return true;
    };
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), {});
    CHECK(send_and_wait(loop, pool, make_request("/1")).ok());
    auto result = send_and_wait(loop, pool, make_request("/vanish", "{\"TransactionID\":1}"));
    REQUIRE_FALSE(result.ok());
    CHECK(result.failure.kind == UpstreamError::closed_before_response);
    CHECK(result.request_bytes_sent);
    CHECK(result.reused_connection);
    CHECK(backend.requests == 2);
    CHECK(pool.stats().retries == 0);
    CHECK(pool.stats().failures == 1);
}

TEST_CASE("a response with Connection: close is not pooled") {
    EventLoop loop;
    Backend backend(loop.base());
    backend.on_request = [](HttpRequest&, ResponseWriter& writer) {
        auto response = make_response(200, "{}", "application/json");
        response.set_header("Connection", "close");
        writer(std::move(response));
        return true;
    };
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), {});
    CHECK(send_and_wait(loop, pool, make_request("/1")).ok());
    CHECK(send_and_wait(loop, pool, make_request("/2")).ok());
    CHECK(pool.stats().connections_opened == 2);
    CHECK(pool.stats().reuses == 0);
    CHECK(pool.stats().idle_connections == 0);
}

TEST_CASE("connection refused and a host that is not an IP literal fail with connect_failed") {
    EventLoop loop;
    for (std::string host : {"127.0.0.1", "backend.example"}) {
        CAPTURE(host);
        UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {host, unused_port(loop.base())}, 2000), {});
        auto result = send_and_wait(loop, pool, make_request("/"));
        REQUIRE_FALSE(result.ok());
        CHECK(result.failure.kind == UpstreamError::connect_failed);
        CHECK_FALSE(result.request_bytes_sent);
        CHECK_FALSE(result.failure.description.empty());
        CHECK(pool.stats().connect_failures == 1);
    }
}

TEST_CASE("a silent backend times out within the request timeout") {
    EventLoop loop;
    std::vector<ResponseWriter> never_answered;
    Backend backend(loop.base());
    backend.on_request = [&](HttpRequest&, ResponseWriter& writer) {
        never_answered.push_back(writer);
        return true;
    };
    UpstreamPoolOptions options;
    options.request_timeout_ms = 300;
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), options);
    auto start = std::chrono::steady_clock::now();
    auto result = send_and_wait(loop, pool, make_request("/slow", "{}"));
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(result.ok());
    CHECK(result.failure.kind == UpstreamError::timeout);
    CHECK(result.request_bytes_sent);
    CHECK(elapsed >= 250ms);
    CHECK(elapsed < 5s);
    CHECK(backend.requests == 1);
}

TEST_CASE("a response arriving after the timeout is dropped with its connection; the pool goes on") {
    EventLoop loop;
    std::vector<ResponseWriter> late;
    Backend backend(loop.base());
    backend.on_request = [&](HttpRequest& request, ResponseWriter& writer) {
        if (request.target != "/late") return false;
        late.push_back(writer);
        return true;
    };
    UpstreamPoolOptions options;
    options.request_timeout_ms = 200;
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), options);
    auto first = send_and_wait(loop, pool, make_request("/late"));
    CHECK(first.failure.kind == UpstreamError::timeout);
    late.front()(make_response(200, "too late"));
    loop.run_for(50ms);
    auto second = send_and_wait(loop, pool, make_request("/2"));
    REQUIRE(second.ok());
    CHECK(json::parse(second.response->body)["target"] == "/2");
    CHECK(pool.stats().connections_opened == 2);
}

TEST_CASE("through the relay, an upstream failure becomes a 502 for the client") {
    EventLoop loop;
    Relay relay(loop.base(), unused_port(loop.base()));
    ChildProcess curl(loop.base(), {"curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                                    url(relay.front.port(), "/")});
    REQUIRE(loop.run_until([&] { return curl.finished(); }));
    CHECK(curl.output() == "502");
}

TEST_CASE("1000 sequential requests cost one upstream connection") {
    EventLoop loop;
    Backend backend(loop.base());
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), {});
    int done = 0;
    std::function<void()> next = [&] {
        pool.send(make_request("/seq", "{\"n\":1}"), [&](UpstreamResult result) {
            CHECK(result.ok());
            if (++done < 1000) next();
        });
    };
    auto start = std::chrono::steady_clock::now();
    next();
    REQUIRE(loop.run_until([&] { return done == 1000; }, 60s));
    auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("1000 sequential requests through the pool: " << elapsed << " ms");
    CHECK(pool.stats().connections_opened == 1);
    CHECK(pool.stats().reuses == 999);
    CHECK(backend.server.connections_accepted() == 1);
}

TEST_CASE("the pool may be destroyed from inside a completion callback") {
    EventLoop loop;
    Backend backend(loop.base());
    auto pool = std::make_unique<UpstreamPool>(loop.base(),
                                               make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000),
                                               UpstreamPoolOptions{});
    bool called = false;
    pool->send(make_request("/1"), [&](UpstreamResult result) {
        called = result.ok();
        pool.reset();
    });
    REQUIRE(loop.run_until([&] { return pool == nullptr; }));
    CHECK(called);
    loop.run_for(20ms);
}

TEST_CASE("a connection is not reused once its authentication expires, and leaves the pool then") {
    EventLoop loop;
    Backend backend(loop.base());
    Connector tcp = make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000);
    // As the outbound connector does: the server's TLSA answer is valid for 1 s from the connect.
    Connector expiring = [&tcp](ConnectCallback done) {
        return tcp([done = std::move(done)](ConnectOutcome outcome) mutable {
            outcome.reuse_until = std::chrono::steady_clock::now() + 1s;
            done(std::move(outcome));
        });
    };
    UpstreamPool pool(loop.base(), expiring, {});
    CHECK(send_and_wait(loop, pool, make_request("/1")).ok());
    CHECK(send_and_wait(loop, pool, make_request("/2")).ok());
    CHECK(pool.stats().connections_opened == 1);
    REQUIRE(loop.run_until([&] { return pool.stats().idle_connections == 0; }, 10s));
    CHECK(pool.stats().idle_closed == 1);
    CHECK(send_and_wait(loop, pool, make_request("/3")).ok());
    CHECK(pool.stats().connections_opened == 2);
    CHECK(backend.server.connections_accepted() == 2);
}

// The idle watch's timeout and a new request in the same loop pass: the request takes the connection (its idle time
// is not quite over), and the timeout callback, already queued, runs next. It must not fail the exchange, and above
// all a request reported as not sent must never leave afterwards (the pool sends it again on a new connection).
TEST_CASE("an idle timeout already queued when a request takes the connection neither fails nor duplicates it") {
    EventLoop loop;
    Backend backend(loop.base());
    UpstreamPoolOptions options;
    options.idle_timeout_ms = 100;
    UpstreamPool pool(loop.base(), make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000), options);
    CHECK(send_and_wait(loop, pool, make_request("/1")).ok());
    REQUIRE(pool.stats().idle_connections == 1);  // its idle timer fires at most 100 ms from now
    struct Timers {
        UpstreamPool* pool;
        std::optional<UpstreamResult> result;
    } timers{&pool, std::nullopt};
    // At 50 ms the loop is held until both the request timer (60 ms) and the idle timer have expired: the next
    // pass activates the request timer first (it expires first), then the idle timeout.
    EventPtr hold(evtimer_new(loop.base(), [](evutil_socket_t, short, void*) { std::this_thread::sleep_for(80ms); },
                              nullptr));
    EventPtr request(evtimer_new(loop.base(), [](evutil_socket_t, short, void* arg) {
        auto* state = static_cast<Timers*>(arg);
        state->pool->send(make_request("/2", "{\"TransactionID\":2}"),
                          [state](UpstreamResult r) { state->result = std::move(r); });
    }, &timers));
    timeval at_50ms{0, 50000}, at_60ms{0, 60000};
    evtimer_add(hold.get(), &at_50ms);
    evtimer_add(request.get(), &at_60ms);
    REQUIRE(loop.run_until([&] { return timers.result.has_value(); }));
    loop.run_for(100ms);  // a duplicate would arrive by now
    CHECK(timers.result->ok());
    CHECK(backend.requests == 2);
    CHECK(pool.stats().retries == 0);
    CHECK(backend.server.connections_accepted() == 1);
}
