#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "proxy/observe/log.hpp"

namespace dlog = dance::proxy::log;
using dlog::Level;

namespace {

// Captures lines for the duration of a test and restores the default logger state afterwards.
struct CapturedLog {
    std::vector<std::string> lines;

    CapturedLog(Level level = Level::debug, dlog::Format format = dlog::Format::json) {
        dlog::set_level(level);
        dlog::set_format(format);
        dlog::set_sink([this](std::string_view line) { lines.emplace_back(line); });
    }
    ~CapturedLog() {
        dlog::set_sink({});
        dlog::configure({});
    }
    nlohmann::json json(std::size_t i) const { return nlohmann::json::parse(lines.at(i)); }
};

const std::string hostile = "evil\"},\n{\"level\":\"error\",\"forged\":true}\\\r\t\x01\x7f end";

}  // namespace

TEST_CASE("a JSON line carries timestamp, level, event and typed fields") {
    CapturedLog captured;
    dlog::event(Level::warn, "handshake_failed",
               {{"listener", "ns-in"}, {"port", 8443}, {"ms", 1.5}, {"optional", false}, {"big", 18446744073709551615ull}});
    REQUIRE(captured.lines.size() == 1);
    CHECK(captured.lines[0].back() == '\n');
    auto line = captured.json(0);
    CHECK(line["level"] == "warn");
    CHECK(line["event"] == "handshake_failed");
    CHECK(line["listener"] == "ns-in");
    CHECK(line["port"] == 8443);
    CHECK(line["ms"] == 1.5);
    CHECK(line["optional"] == false);
    CHECK(line["big"] == 18446744073709551615ull);
    std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    CHECK(std::regex_match(line["ts"].get<std::string>(), rfc3339));
}

TEST_CASE("hostile strings cannot forge lines or fields, in JSON") {
    CapturedLog captured;
    std::string client_id = hostile;
    dlog::warn(hostile, {{"client_id", client_id}, {hostile, "value"}});
    REQUIRE(captured.lines.size() == 1);
    CHECK(captured.lines[0].find('\n') == captured.lines[0].size() - 1);
    auto line = captured.json(0);
    CHECK(line["event"] == hostile);
    CHECK(line["client_id"] == hostile);
    CHECK(line[hostile] == "value");
    CHECK_FALSE(line.contains("forged"));
    CHECK(line["level"] == "warn");
}

TEST_CASE("invalid UTF-8 is replaced, valid UTF-8 kept, so the line stays valid JSON") {
    CapturedLog captured;
    dlog::info("x", {{"name", "caf\xc3\xa9 \xff\xfe \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80"}});
    REQUIRE(captured.lines.size() == 1);
    auto line = captured.json(0);  // throws on invalid UTF-8
    CHECK(line["name"] == "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80");
}

TEST_CASE("levels below the configured one are dropped") {
    CapturedLog captured(Level::warn);
    dlog::debug("d");
    dlog::info("i");
    dlog::warn("w");
    dlog::error("e");
    REQUIRE(captured.lines.size() == 2);
    CHECK(captured.json(0)["event"] == "w");
    CHECK(captured.json(1)["event"] == "e");
    CHECK_FALSE(dlog::enabled(Level::info));
    CHECK(dlog::enabled(Level::error));
}

TEST_CASE("a body field is never written") {
    CapturedLog captured;
    dlog::info("request", {{"path", "/"}, {"body", "{\"AppSKey\":\"secret\"}"}});
    REQUIRE(captured.lines.size() == 1);
    CHECK(captured.lines[0].find("secret") == std::string::npos);
    CHECK_FALSE(captured.json(0).contains("body"));
}

TEST_CASE("text format quotes and escapes what needs it, one event per line") {
    CapturedLog captured(Level::debug, dlog::Format::text);
    dlog::error("handshake_failed", {{"listener", "ns-in"}, {"client_id", hostile}, {"reason", "a b"}, {"n", 3}});
    REQUIRE(captured.lines.size() == 1);
    const std::string& line = captured.lines[0];
    CHECK(line.find('\n') == line.size() - 1);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find(" error handshake_failed listener=ns-in client_id=\"evil\\\"},\\n{") != std::string::npos);
    CHECK(line.find(" reason=\"a b\" n=3\n") != std::string::npos);
}

TEST_CASE("access log lines have the fixed field set") {
    CapturedLog captured;
    dlog::access({.listener = "ns-in",
                 .direction = dance::proxy::Direction::inbound,
                 .client = "127.0.0.1:5000",
                 .identity = "_ns-client.ns.example",
                 .method = "POST",
                 .path = "/api",
                 .status = 200,
                 .message_type = "JoinReq",
                 .result_code = "Success",
                 .duration_ms = 12.5});
    dlog::access("js-out", dance::proxy::Direction::outbound, "me.example", "POST", "/", 502, "JoinReq", "", 3);
    REQUIRE(captured.lines.size() == 2);
    auto first = captured.json(0);
    CHECK(first["event"] == "access");
    CHECK(first["level"] == "info");
    CHECK(first["direction"] == "inbound");
    CHECK(first["client"] == "127.0.0.1:5000");
    CHECK(first["identity"] == "_ns-client.ns.example");
    CHECK(first["status"] == 200);
    CHECK(first["duration_ms"] == 12.5);
    CHECK(first["message_type"] == "JoinReq");
    auto second = captured.json(1);
    CHECK(second["direction"] == "outbound");
    CHECK(second["status"] == 502);
    CHECK(second["result_code"] == "");
}

TEST_CASE("the access log is silent when info is off") {
    CapturedLog captured(Level::warn);
    dlog::access("js-out", dance::proxy::Direction::outbound, "", "GET", "/", 200, "", "", 1);
    CHECK(captured.lines.empty());
}
