#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "proxy/observe/admin_server.hpp"

using dance::proxy::AdminServer;
using dance::proxy::Metrics;

namespace {

struct HttpReply {
    int status = 0;
    std::string head;
    std::string body;
};

// A blocking HTTP/1.0 GET on the test thread (the server runs on its own thread).
HttpReply http_request(uint16_t port, const std::string& method, const std::string& path) {
    HttpReply reply;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    timeval timeout{30, 0};  // generous: only a hung server hits it
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    std::string request = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string response;
    char buffer[4096];
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0) response.append(buffer, static_cast<std::size_t>(got));
    close(fd);
    auto end_of_head = response.find("\r\n\r\n");
    REQUIRE(end_of_head != std::string::npos);
    reply.head = response.substr(0, end_of_head);
    reply.body = response.substr(end_of_head + 4);
    reply.status = std::stoi(response.substr(response.find(' ') + 1, 3));
    return reply;
}

HttpReply http_get(uint16_t port, const std::string& path) { return http_request(port, "GET", path); }

}  // namespace

TEST_CASE("admin server serves /metrics, /healthz and 404") {
    Metrics metrics("9.9.9");
    metrics.listener("ns-in", dance::proxy::Direction::inbound).handshake(dance::proxy::HandshakeResult::ok, 0.01);
    AdminServer server({"127.0.0.1", 0}, metrics);
    std::string error;
    REQUIRE_MESSAGE(server.start(error), error);
    REQUIRE(server.port() != 0);

    auto scraped = http_get(server.port(), "/metrics");
    CHECK(scraped.status == 200);
    CHECK(scraped.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8") != std::string::npos);
    CHECK(scraped.body.find("dance_handshakes_total{direction=\"inbound\",listener=\"ns-in\",result=\"ok\"} 1\n") !=
          std::string::npos);
    CHECK(scraped.body.find("dance_build_info{version=\"9.9.9\"} 1\n") != std::string::npos);

    auto health = http_get(server.port(), "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");

    CHECK(http_get(server.port(), "/nope").status == 404);
    CHECK(http_request(server.port(), "POST", "/metrics").status == 501);  // evhttp: method not allowed

    server.stop();
    server.stop();  // idempotent
}

TEST_CASE("/readyz is 503 naming the failing checks until all pass") {
    Metrics metrics("test");
    AdminServer server({"127.0.0.1", 0}, metrics);
    std::atomic<bool> dns_ready{false};
    server.add_readiness_check("listeners", [](std::string&) { return true; });
    server.add_readiness_check("dns", [&](std::string& why) {
        why = "resolver \"127.0.0.1:5353\" not answering";
        return dns_ready.load();
    });
    REQUIRE(server.start());

    auto not_ready = http_get(server.port(), "/readyz");
    CHECK(not_ready.status == 503);
    CHECK(not_ready.head.find("Content-Type: application/json") != std::string::npos);
    CHECK(not_ready.body.find("\"dns\":\"resolver \\\"127.0.0.1:5353\\\" not answering\"") != std::string::npos);
    CHECK(not_ready.body.find("listeners") == std::string::npos);

    server.add_readiness_check("late", [](std::string&) -> bool { throw std::runtime_error("boom"); });
    auto two_failing = http_get(server.port(), "/readyz");
    CHECK(two_failing.status == 503);
    CHECK(two_failing.body.find("\"late\":\"check threw: boom\"") != std::string::npos);

    dns_ready = true;
    auto still_late = http_get(server.port(), "/readyz");
    CHECK(still_late.status == 503);
    CHECK(still_late.body.find("\"dns\"") == std::string::npos);
}

TEST_CASE("/readyz is 200 with no checks or all passing") {
    Metrics metrics("test");
    AdminServer server({"127.0.0.1", 0}, metrics);
    REQUIRE(server.start());
    auto ready = http_get(server.port(), "/readyz");
    CHECK(ready.status == 200);
    CHECK(ready.body == "{\"status\":\"ready\"}\n");
}

TEST_CASE("start fails with a message when the port is taken, and twice-started is refused") {
    Metrics metrics("test");
    AdminServer first({"127.0.0.1", 0}, metrics);
    REQUIRE(first.start());
    std::string error;
    CHECK_FALSE(first.start(error));
    CHECK(error.find("already") != std::string::npos);

    AdminServer second({"127.0.0.1", first.port()}, metrics);
    error.clear();
    CHECK_FALSE(second.start(error));
    CHECK(error.find("127.0.0.1:" + std::to_string(first.port())) != std::string::npos);
    second.stop();  // harmless when never started
}
