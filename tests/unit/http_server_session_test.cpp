#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "http_test_support.hpp"

using namespace dance;
using namespace dance::proxy;
using namespace dance::proxy::testing;
using namespace std::chrono_literals;

namespace {

HttpResponse text_response(std::string body) { return make_response(200, std::move(body)); }

}  // namespace

TEST_CASE("keep-alive: several requests on one connection, answered in order even when answered out of order") {
    EventLoop loop;
    std::vector<ResponseWriter> writers;
    std::vector<std::string> targets;
    SessionServer server(loop.base(), {}, [&](HttpRequest&& request, ResponseWriter writer) {
        targets.push_back(request.target);
        writers.push_back(std::move(writer));
    });
    RawClient client(loop.base(), server.port());
    client.write("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return writers.size() == 3; }));
    CHECK(targets == std::vector<std::string>{"/1", "/2", "/3"});
    writers[2](text_response("third"));
    writers[1](text_response("second"));
    loop.run_for(50ms);
    CHECK(client.received().empty());  // the first is still unanswered
    writers[0](text_response("first"));
    REQUIRE(loop.run_until([&] { return count_of(client.received(), "HTTP/1.1 200") == 3; }));
    auto first = client.received().find("first");
    auto second = client.received().find("second");
    auto third = client.received().find("third");
    CHECK(first < second);
    CHECK(second < third);
    CHECK(third != std::string::npos);
    CHECK_FALSE(client.closed());
    CHECK(server.connections_accepted() == 1);
}

TEST_CASE("errors: oversized body gets 413, malformed gets 400, then the connection closes") {
    EventLoop loop;
    int handled = 0;
    HttpServerSessionOptions options;
    options.limits.max_body_bytes = 16;
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) {
        ++handled;
        writer(text_response("ok"));
    });
    SUBCASE("413") {
        RawClient client(loop.base(), server.port());
        client.write("POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n");
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(client.received().starts_with("HTTP/1.1 413 "));
        CHECK(client.received().find("Connection: close") != std::string::npos);
    }
    SUBCASE("400 after a good pipelined request, in order") {
        RawClient client(loop.base(), server.port());
        client.write("GET /good HTTP/1.1\r\n\r\nNOT HTTP AT ALL\r\n\r\n");
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(client.received().starts_with("HTTP/1.1 200 "));
        CHECK(client.received().find("HTTP/1.1 400 ") != std::string::npos);
        CHECK(handled == 1);
    }
    REQUIRE(loop.run_until([&] { return server.open_sessions() == 0; }));
}

TEST_CASE("Connection: close, HTTP/1.0 and HTTP/1.0 keep-alive") {
    EventLoop loop;
    SessionServer server(loop.base(), {}, [&](HttpRequest&&, ResponseWriter writer) { writer(text_response("ok")); });
    SUBCASE("HTTP/1.1 with Connection: close") {
        RawClient client(loop.base(), server.port());
        client.write("GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(count_of(client.received(), "HTTP/1.1 200") == 1);
        CHECK(client.received().find("Connection: close\r\n") != std::string::npos);
    }
    SUBCASE("HTTP/1.0 closes by default") {
        RawClient client(loop.base(), server.port());
        client.write("GET / HTTP/1.0\r\n\r\n");
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(count_of(client.received(), "HTTP/1.1 200") == 1);
    }
    SUBCASE("HTTP/1.0 keep-alive stays open") {
        RawClient client(loop.base(), server.port());
        client.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        REQUIRE(loop.run_until([&] { return count_of(client.received(), "HTTP/1.1 200") == 1; }));
        CHECK(client.received().find("Connection: keep-alive\r\n") != std::string::npos);
        loop.run_for(50ms);
        CHECK_FALSE(client.closed());
    }
    REQUIRE(loop.run_until([&] { return server.close_reasons.size() == 1 || server.open_sessions() == 1; }));
}

TEST_CASE("a handler's own Connection: close ends the connection after that answer") {
    EventLoop loop;
    SessionServer server(loop.base(), {}, [&](HttpRequest&&, ResponseWriter writer) {
        auto response = text_response("bye");
        response.set_header("Connection", "close");
        writer(std::move(response));
    });
    RawClient client(loop.base(), server.port());
    client.write("GET / HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    CHECK(count_of(client.received(), "HTTP/1.1 200") == 1);
    REQUIRE(loop.run_until([&] { return server.close_reasons.size() == 1; }));
    CHECK(server.close_reasons[0] == "connection_close");
}

TEST_CASE("ending keep-alive: an idle connection closes, a request in progress is the last one") {
    EventLoop loop;
    std::optional<ResponseWriter> held;
    int handled = 0;
    SessionServer server(loop.base(), {}, [&](HttpRequest&&, ResponseWriter writer) {
        ++handled;
        held = std::move(writer);
    });
    RawClient client(loop.base(), server.port());
    SUBCASE("idle after a request: closed at once") {
        client.write("GET /1 HTTP/1.1\r\n\r\n");
        REQUIRE(loop.run_until([&] { return held.has_value(); }));
        held->send(text_response("one"));
        REQUIRE(loop.run_until([&] { return count_of(client.received(), "HTTP/1.1 200") == 1; }));
        CHECK(client.received().find("Connection: close") == std::string::npos);
        server.end_keep_alive_all();
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(handled == 1);
    }
    SUBCASE("a request waiting for its answer: answered with Connection: close, nothing after it") {
        client.write("GET /1 HTTP/1.1\r\n\r\n");
        REQUIRE(loop.run_until([&] { return held.has_value(); }));
        server.end_keep_alive_all();
        client.write("GET /2 HTTP/1.1\r\n\r\n");
        loop.run_for(50ms);
        held->send(text_response("one"));
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(count_of(client.received(), "HTTP/1.1 200") == 1);
        CHECK(client.received().find("Connection: close") != std::string::npos);
        CHECK(handled == 1);
    }
    SUBCASE("no request yet: the first one is still served, and is the last") {
        REQUIRE(loop.run_until([&] { return server.open_sessions() == 1; }));
        server.end_keep_alive_all();
        loop.run_for(50ms);
        CHECK_FALSE(client.closed());
        client.write("GET /1 HTTP/1.1\r\n\r\n");
        REQUIRE(loop.run_until([&] { return held.has_value(); }));
        held->send(text_response("one"));
        REQUIRE(loop.run_until([&] { return client.closed(); }));
        CHECK(client.received().find("Connection: close") != std::string::npos);
        CHECK(handled == 1);
    }
}

TEST_CASE("winding down for a drain: idle connections close, busy and half-received ones end with their answer") {
    EventLoop loop;
    std::vector<ResponseWriter> held;
    SessionServer server(loop.base(), {}, [&](HttpRequest&&, ResponseWriter writer) { held.push_back(std::move(writer)); });
    RawClient idle(loop.base(), server.port());
    RawClient busy(loop.base(), server.port());
    RawClient half(loop.base(), server.port());
    idle.write("GET /idle HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return held.size() == 1; }));
    held[0].send(text_response("done"));
    busy.write("GET /busy HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return held.size() == 2 && idle.received().find("done") != std::string::npos; }));
    half.write("POST /half HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    loop.run_for(50ms);

    CHECK(server.wind_down() == 1);
    REQUIRE(loop.run_until([&] { return idle.closed(); }));
    CHECK_FALSE(busy.closed());
    CHECK_FALSE(half.closed());
    held[1].send(text_response("busy answer"));
    half.write("cd");
    REQUIRE(loop.run_until([&] { return held.size() == 3; }));
    held[2].send(text_response("half answer"));
    REQUIRE(loop.run_until([&] { return busy.closed() && half.closed(); }));
    for (RawClient* client : {&busy, &half}) {
        CHECK(count_of(client->received(), "HTTP/1.1 200") == 1);
        CHECK(client->received().find("Connection: close") != std::string::npos);
    }
}

TEST_CASE("idle timeout closes a quiet connection and a stalled request") {
    EventLoop loop;
    HttpServerSessionOptions options;
    options.idle_ms = 100;
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) { writer(text_response("ok")); });
    RawClient quiet(loop.base(), server.port());
    RawClient stalled(loop.base(), server.port());
    stalled.write("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    auto start = std::chrono::steady_clock::now();
    REQUIRE(loop.run_until([&] { return quiet.closed() && stalled.closed(); }, 5s));
    CHECK(std::chrono::steady_clock::now() - start >= 90ms);
    REQUIRE(loop.run_until([&] { return server.close_reasons.size() == 2; }));
    CHECK(server.close_reasons == std::vector<std::string>{"idle_timeout", "idle_timeout"});
    CHECK(stalled.received().empty());
}

TEST_CASE("answering after the session died is a no-op; a dropped writer answers 502") {
    EventLoop loop;
    std::optional<ResponseWriter> kept;
    SessionServer server(loop.base(), {}, [&](HttpRequest&& request, ResponseWriter writer) {
        if (request.target == "/keep") kept = std::move(writer);
        // "/drop": the writer goes out of scope unanswered
    });
    SUBCASE("late answer") {
        RawClient client(loop.base(), server.port());
        client.write("GET /keep HTTP/1.1\r\n\r\n");
        REQUIRE(loop.run_until([&] { return kept.has_value(); }));
        CHECK(kept->can_send());
        server.close_all();
        REQUIRE(loop.run_until([&] { return server.open_sessions() == 0 && client.closed(); }));
        CHECK_FALSE(kept->can_send());
        (*kept)(text_response("too late"));
        CHECK(server.close_reasons == std::vector<std::string>{"closed"});
        CHECK(client.received().empty());
    }
    SUBCASE("dropped writer") {
        RawClient client(loop.base(), server.port());
        client.write("GET /drop HTTP/1.1\r\n\r\n");
        REQUIRE(loop.run_until([&] { return !client.received().empty(); }));
        CHECK(client.received().starts_with("HTTP/1.1 502 "));
    }
}

TEST_CASE("Expect: 100-continue gets an interim answer, and a half-closed client still gets its answer") {
    EventLoop loop;
    SessionServer server(loop.base(), {}, [&](HttpRequest&& request, ResponseWriter writer) { writer(text_response(request.body)); });
    RawClient client(loop.base(), server.port());
    client.write("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    REQUIRE(loop.run_until([&] { return !client.received().empty(); }));
    CHECK(client.received() == "HTTP/1.1 100 Continue\r\n\r\n");
    client.write("hello");
    REQUIRE(loop.run_until([&] { return client.all_written(); }));
    client.shutdown_write();
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    CHECK(client.received().find("HTTP/1.1 200 OK") != std::string::npos);
    CHECK(client.received().ends_with("hello"));
}

TEST_CASE("the owner can shape the session's own error answers") {
    EventLoop loop;
    HttpServerSessionOptions options;
    options.limits.max_body_bytes = 4;
    options.error_response = [](int status, std::string_view problem) {
        return make_response(status, "{\"Result\":{\"ResultCode\":\"Other\",\"Description\":\"" + std::string(problem) + "\"}}",
                             "application/json");
    };
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter) {});
    RawClient dropped(loop.base(), server.port());
    dropped.write("GET / HTTP/1.1\r\n\r\n");
    RawClient too_big(loop.base(), server.port());
    too_big.write("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345");
    REQUIRE(loop.run_until([&] { return too_big.closed() && !dropped.received().empty(); }));
    CHECK(dropped.received().starts_with("HTTP/1.1 502 "));
    CHECK(dropped.received().ends_with("\"Description\":\"no response\"}}"));
    CHECK(too_big.received().starts_with("HTTP/1.1 413 "));
    CHECK(too_big.received().find("application/json") != std::string::npos);
    CHECK(too_big.received().ends_with("\"Description\":\"body_too_large\"}}"));
}

TEST_CASE("a shared buffer budget: over it a connection gets 503 and closes, the bytes come back on answer and close") {
    EventLoop loop;
    SharedByteBudget budget;
    int exceeded = 0;
    std::vector<ResponseWriter> writers;
    HttpServerSessionOptions options;
    options.max_pipelined = 1;
    options.buffer_budget = &budget;
    options.buffer_budget_limit = 3000;
    options.on_buffer_budget_exceeded = [&] { ++exceeded; };
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) { writers.push_back(std::move(writer)); });

    RawClient holder(loop.base(), server.port());  // a complete request, held unanswered by the handler
    holder.write("POST /held HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'a'));
    REQUIRE(loop.run_until([&] { return writers.size() == 1; }));
    CHECK(budget.used() >= 1000);
    std::optional<RawClient> partial(std::in_place, loop.base(), server.port());  // half a body, still arriving
    partial->write("POST /partial HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(1500, 'b'));
    REQUIRE(loop.run_until([&] { return budget.used() >= 2500; }));
    CHECK(exceeded == 0);

    RawClient over(loop.base(), server.port());
    over.write("POST /over HTTP/1.1\r\nContent-Length: 900\r\n\r\n" + std::string(900, 'c'));
    REQUIRE(loop.run_until([&] { return over.closed(); }));
    CHECK(over.received().starts_with("HTTP/1.1 503 "));
    CHECK(exceeded == 1);
    CHECK(writers.size() == 1);  // the refused request never reached the handler

    writers[0](text_response("done"));  // answered: the held request's bytes are given back
    REQUIRE(loop.run_until([&] { return count_of(holder.received(), "HTTP/1.1 200") == 1; }));
    // The refused connection's bytes stay counted until it is closed (after its linger).
    REQUIRE(loop.run_until([&] { return budget.used() < 2000; }));
    partial.reset();
    REQUIRE(loop.run_until([&] { return budget.used() == 0; }));

    RawClient later(loop.base(), server.port());  // room again
    later.write("POST /later HTTP/1.1\r\nContent-Length: 900\r\n\r\n" + std::string(900, 'd'));
    REQUIRE(loop.run_until([&] { return writers.size() == 2; }));
    writers[1](text_response("ok"));
    REQUIRE(loop.run_until([&] { return count_of(later.received(), "HTTP/1.1 200") == 1; }));
    server.close_all();
    REQUIRE(loop.run_until([&] { return server.open_sessions() == 0; }));
    CHECK(budget.used() == 0);
}

TEST_CASE("max_pipelined 1: a second pipelined request waits until the first is answered") {
    EventLoop loop;
    std::vector<ResponseWriter> writers;
    HttpServerSessionOptions options;
    options.max_pipelined = 1;
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) { writers.push_back(std::move(writer)); });
    RawClient client(loop.base(), server.port());
    client.write("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return writers.size() == 1; }));
    loop.run_for(50ms);
    CHECK(writers.size() == 1);
    writers[0](text_response("one"));
    REQUIRE(loop.run_until([&] { return writers.size() == 2; }));
    writers[1](text_response("two"));
    REQUIRE(loop.run_until([&] { return writers.size() == 3; }));
    writers[2](text_response("three"));
    REQUIRE(loop.run_until([&] { return count_of(client.received(), "HTTP/1.1 200") == 3; }));
}

namespace {
void small_send_buffer(evutil_socket_t fd) {
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
}
}  // namespace

TEST_CASE("a client that sends and never reads: reading stops once its answers back up, resumes as it reads") {
    EventLoop loop;
    int handled = 0;
    HttpServerSessionOptions options;
    options.max_buffered_output = 32 * 1024;
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) {
        ++handled;
        writer(text_response(std::string(16 * 1024, 'x')));
    });
    server.tune_accepted_socket = small_send_buffer;
    NonReadingClient client(server.port());
    REQUIRE(client.connected());
    std::string requests;
    for (int i = 0; i < 200; ++i) requests += "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
    REQUIRE(client.send_all(requests));
    loop.run_for(300ms);
    // At most the 32 KiB backlog, one answer past it and what the two small socket buffers hold.
    CHECK(handled >= 2);
    CHECK(handled <= 12);
    REQUIRE(loop.run_until([&] { return count_of(client.read_available(), "HTTP/1.1 200") == 200; }));
    CHECK(handled == 200);
    CHECK(server.open_sessions() == 1);
}

TEST_CASE("a shared buffer budget counts answers the client has not read yet") {
    EventLoop loop;
    SharedByteBudget budget;
    int exceeded = 0;
    HttpServerSessionOptions options;
    options.max_pipelined = 1;
    options.buffer_budget = &budget;
    options.buffer_budget_limit = 64 * 1024;
    options.on_buffer_budget_exceeded = [&] { ++exceeded; };
    int handled = 0;
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) {
        ++handled;
        writer(text_response(std::string(512 * 1024, 'x')));  // more than the budget: it goes out regardless
    });
    server.tune_accepted_socket = small_send_buffer;
    NonReadingClient slow(server.port());
    REQUIRE(slow.connected());
    REQUIRE(slow.send_all("GET /big HTTP/1.1\r\n\r\n"));
    REQUIRE(loop.run_until([&] { return handled == 1; }));
    loop.run_for(100ms);
    CHECK(budget.used() > 256 * 1024);  // the unsent part of its answer

    RawClient refused(loop.base(), server.port());  // the group is over its limit: no new request is taken
    refused.write("GET /small HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return refused.closed(); }));
    CHECK(refused.received().starts_with("HTTP/1.1 503 "));
    CHECK(exceeded == 1);
    CHECK(handled == 1);

    REQUIRE(loop.run_until([&] { return slow.read_available().size() > 512 * 1024; }));
    REQUIRE(loop.run_until([&] { return budget.used() == 0; }));  // read: its bytes are given back
    RawClient later(loop.base(), server.port());
    later.write("GET /later HTTP/1.1\r\n\r\n");
    REQUIRE(loop.run_until([&] { return count_of(later.received(), "HTTP/1.1 200") == 1 && later.received().size() > 512 * 1024; }));
    CHECK(handled == 2);
}

TEST_CASE("winding down for a drain: an answer still on its way out is sent whole before the close") {
    EventLoop loop;
    const std::string body(512 * 1024, 'x');
    SessionServer server(loop.base(), {}, [&](HttpRequest&&, ResponseWriter writer) { writer(text_response(body)); });
    server.tune_accepted_socket = small_send_buffer;
    NonReadingClient slow(server.port());
    REQUIRE(slow.connected());
    REQUIRE(slow.send_all("GET /big HTTP/1.1\r\n\r\n"));
    loop.run_for(100ms);  // answered; most of it waits in the session's output
    CHECK(server.wind_down() == 0);
    REQUIRE(loop.run_until([&] { return slow.read_available().size() >= body.size(); }));
    loop.run_for(50ms);
    const std::string& received = slow.read_available();
    CHECK(received.starts_with("HTTP/1.1 200 "));
    CHECK(received.size() - received.find("\r\n\r\n") - 4 == body.size());  // whole, then the close
    REQUIRE(loop.run_until([&] { return server.open_sessions() == 0; }));
}

TEST_CASE("a final answer read in a trickle gets idle_ms, however often the client reads a little") {
    EventLoop loop;
    HttpServerSessionOptions options;
    options.idle_ms = 400;
    const std::string body(8 * 1024 * 1024, 'x');
    SessionServer server(loop.base(), options, [&](HttpRequest&&, ResponseWriter writer) { writer(text_response(body)); });
    server.tune_accepted_socket = small_send_buffer;
    NonReadingClient trickle(server.port());
    REQUIRE(trickle.connected());
    REQUIRE(trickle.send_all("GET /big HTTP/1.1\r\nConnection: close\r\n\r\n"));
    REQUIRE(loop.run_until([&] { return server.open_sessions() == 1; }));
    auto closed = [&] { return server.open_sessions() == 0; };
    for (int round = 0; round < 40 && !closed(); ++round) {
        loop.run_for(50ms);
        trickle.read_available();  // a few KiB each time: progress that resets the write timeout
    }
    REQUIRE(closed());
    REQUIRE(server.close_reasons.size() == 1);
    CHECK(server.close_reasons[0] == "idle_timeout");
    CHECK(trickle.read_available().size() < body.size());
}
