// DestinationPools: one pool per destination, at most max_destinations, idle pools replaced least recently used
// first, busy ones never; a pool may be replaced from inside its own callback.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <vector>

#include "http_test_support.hpp"
#include "proxy/outbound/destination_pools.hpp"
#include "proxy/upstream/upstream_tcp_connector.hpp"

using namespace dance::proxy;
using namespace dance::proxy::testing;

namespace {

// A backend that answers only when told to: requests wait in `held`.
struct HoldingBackend {
    explicit HoldingBackend(event_base* base)
        : server(base, {}, [this](HttpRequest&&, ResponseWriter writer) { held.push_back(std::move(writer)); }) {}
    void answer_all() {
        for (auto& writer : held) writer(make_response(200, "ok\n"));
        held.clear();
    }
    std::vector<ResponseWriter> held;
    SessionServer server;
};

struct Fixture {
    EventLoop loop;
    HoldingBackend backend{loop.base()};
    int pools_made = 0;

    DestinationPools::PoolFactory factory() {
        return [this] {
            ++pools_made;
            return std::make_unique<UpstreamPool>(loop.base(),
                                                  make_tcp_connector(loop.base(), {"127.0.0.1", backend.server.port()}, 2000),
                                                  UpstreamPoolOptions{});
        };
    }
};

HttpRequest get_request() {
    HttpRequest request;
    request.method = "GET";
    request.target = "/";
    request.add_header("Host", "backend.test");
    return request;
}

}  // namespace

TEST_CASE("one pool per key, the same pool again for the same key") {
    Fixture fixture;
    DestinationPools pools(fixture.loop.base(), 4);
    UpstreamPool* a = pools.pool_for("dns:a.example:443", fixture.factory());
    UpstreamPool* b = pools.pool_for("dns:b.example:443", fixture.factory());
    CHECK(a != nullptr);
    CHECK(b != nullptr);
    CHECK(a != b);
    CHECK(pools.pool_for("dns:a.example:443", fixture.factory()) == a);
    CHECK(pools.size() == 2);
    CHECK(fixture.pools_made == 2);
}

TEST_CASE("beyond max_destinations the least recently used idle pool is replaced") {
    Fixture fixture;
    DestinationPools pools(fixture.loop.base(), 2);
    pools.pool_for("a", fixture.factory());
    pools.pool_for("b", fixture.factory());
    pools.pool_for("a", fixture.factory());  // b is now the least recently used
    pools.pool_for("c", fixture.factory());
    CHECK(pools.size() == 2);
    CHECK(pools.evictions() == 1);
    int made = fixture.pools_made;
    pools.pool_for("a", fixture.factory());  // still there
    CHECK(fixture.pools_made == made);
    pools.pool_for("b", fixture.factory());  // was replaced: made anew
    CHECK(fixture.pools_made == made + 1);
}

TEST_CASE("a pool with a request in flight is never replaced; when all are busy, no pool") {
    Fixture fixture;
    DestinationPools pools(fixture.loop.base(), 1);
    UpstreamPool* busy = pools.pool_for("a", fixture.factory());
    std::optional<UpstreamResult> result;
    busy->send(get_request(), [&](UpstreamResult r) { result = std::move(r); });
    REQUIRE(fixture.loop.run_until([&] { return fixture.backend.held.size() == 1; }));
    CHECK(pools.pool_for("b", fixture.factory()) == nullptr);
    CHECK(pools.size() == 1);
    fixture.backend.answer_all();
    REQUIRE(fixture.loop.run_until([&] { return result.has_value(); }));
    CHECK(result->ok());
    CHECK(pools.pool_for("b", fixture.factory()) != nullptr);
    CHECK(pools.evictions() == 1);
}

TEST_CASE("a pool may be replaced from inside its own answer callback (UpstreamPool allows it; ASan checks)") {
    Fixture fixture;
    DestinationPools pools(fixture.loop.base(), 1);
    UpstreamPool* first = pools.pool_for("a", fixture.factory());
    bool answered = false;
    UpstreamPool* second = nullptr;
    first->send(get_request(), [&](UpstreamResult r) {
        answered = r.ok();
        second = pools.pool_for("b", fixture.factory());  // replaces `first`, whose callback this is
    });
    REQUIRE(fixture.loop.run_until([&] { return fixture.backend.held.size() == 1; }));
    fixture.backend.answer_all();
    REQUIRE(fixture.loop.run_until([&] { return second != nullptr; }));
    CHECK(answered);
    fixture.loop.run_for(std::chrono::milliseconds(50));  // the replaced pool is freed here (ASan would tell)
    std::optional<UpstreamResult> again;
    second->send(get_request(), [&](UpstreamResult r) { again = std::move(r); });
    REQUIRE(fixture.loop.run_until([&] { return fixture.backend.held.size() == 1; }));
    fixture.backend.answer_all();
    REQUIRE(fixture.loop.run_until([&] { return again.has_value(); }));
    CHECK(again->ok());
}

TEST_CASE("pools without connections are replaced before pools that keep a partner's connections warm") {
    Fixture fixture;
    DestinationPools pools(fixture.loop.base(), 2);
    UpstreamPool* warm = pools.pool_for("partner", fixture.factory());
    std::optional<UpstreamResult> result;
    warm->send(get_request(), [&](UpstreamResult r) { result = std::move(r); });
    REQUIRE(fixture.loop.run_until([&] { return fixture.backend.held.size() == 1; }));
    fixture.backend.answer_all();
    REQUIRE(fixture.loop.run_until([&] { return result.has_value(); }));
    REQUIRE(warm->stats().idle_connections == 1);
    pools.pool_for("made-up-1", fixture.factory());   // cold, more recently used than "partner"
    pools.pool_for("made-up-2", fixture.factory());   // replaces made-up-1, not the older warm pool
    int made = fixture.pools_made;
    CHECK(pools.pool_for("partner", fixture.factory()) == warm);
    CHECK(fixture.pools_made == made);
}

TEST_CASE("forget_if_unused drops a pool without requests or connections, and only such a pool") {
    Fixture fixture;
    DestinationPools pools(fixture.loop.base(), 4);
    pools.pool_for("failed-route", fixture.factory());
    pools.forget_if_unused("failed-route");
    CHECK(pools.size() == 0);
    UpstreamPool* busy = pools.pool_for("busy", fixture.factory());
    std::optional<UpstreamResult> result;
    busy->send(get_request(), [&](UpstreamResult r) { result = std::move(r); });
    pools.forget_if_unused("busy");
    CHECK(pools.size() == 1);
    REQUIRE(fixture.loop.run_until([&] { return fixture.backend.held.size() == 1; }));
    fixture.backend.answer_all();
    REQUIRE(fixture.loop.run_until([&] { return result.has_value(); }));
    pools.forget_if_unused("busy");  // keeps its idle connection
    CHECK(pools.size() == 1);
}
