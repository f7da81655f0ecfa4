#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <set>

#include <string>
#include <thread>
#include <vector>

#include "proxy/observe/metrics.hpp"
#include "proxy/observe/process_metrics.hpp"

using dance::proxy::Direction;
using dance::proxy::HandshakeResult;
using dance::proxy::Metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

std::string handshake_series(std::string_view listener, std::string_view direction, std::string_view result) {
    return "dance_handshakes_total{direction=\"" + std::string(direction) + "\",listener=\"" + std::string(listener) +
           "\",result=\"" + std::string(result) + "\"}";
}

}  // namespace

TEST_CASE("every fixed handshake result exists at 0 once a listener is created") {
    Metrics metrics("1.2.3");
    metrics.listener("ns-in", Direction::inbound);
    metrics.listener("js-out", Direction::outbound);
    std::string text = metrics.serialize();

    for (std::size_t i = 0; i < dance::proxy::handshake_result_count; ++i) {
        auto result = dance::proxy::to_string(static_cast<HandshakeResult>(i));
        CAPTURE(result);
        CHECK(has_line(text, handshake_series("js-out", "outbound", result) + " 0") ==
              dance::proxy::applies_to_outbound(static_cast<HandshakeResult>(i)));
        CHECK(has_line(text, handshake_series("ns-in", "inbound", result) + " 0") ==
              dance::proxy::applies_to_inbound(static_cast<HandshakeResult>(i)));
    }
    for (auto reason : dance::proxy::known_reject_reasons) {
        CHECK(has_line(text, "dance_connections_rejected_total{direction=\"inbound\",listener=\"ns-in\",reason=\"" +
                                 std::string(reason) + "\"} 0"));
    }
    for (int code : dance::proxy::known_request_codes) {
        CHECK(has_line(text, "dance_requests_total{code=\"" + std::to_string(code) +
                                 "\",direction=\"outbound\",listener=\"js-out\"} 0"));
    }
    CHECK(text.find("dance_requests_total{code=\"404\"") == std::string::npos);  // not a known code: on first use
    CHECK(has_line(text, "dance_tlsa_lookups_total{cache=\"miss\",result=\"bogus\"} 0"));
    CHECK(has_line(text, "dance_tlsa_lookups_total{cache=\"hit\",result=\"secure\"} 0"));
    CHECK(has_line(text, "dance_config_reloads_total{result=\"error\"} 0"));
    CHECK(has_line(text, "dance_build_info{version=\"1.2.3\"} 1"));
    CHECK(has_line(text, "dance_connections_active{direction=\"inbound\",listener=\"ns-in\"} 0"));
    CHECK(has_line(text, "dance_pending_dns_handshakes{listener=\"ns-in\"} 0"));
    // An expiry of 0 would fire every "certificate expires soon" alert: absent until known.
    CHECK(text.find("dance_certificate_expiry_timestamp_seconds{") == std::string::npos);
}

TEST_CASE("events show up in the serialized series") {
    Metrics metrics("test");
    auto& inbound = metrics.listener("ns-in", Direction::inbound);
    auto& outbound = metrics.listener("js-out", Direction::outbound);

    inbound.handshake(HandshakeResult::ok, 0.002);
    inbound.handshake(HandshakeResult::ok, 0.004);
    inbound.handshake(HandshakeResult::not_allowed, 0.001);
    inbound.handshake(HandshakeResult::tls_error, 0.001);
    outbound.handshake(HandshakeResult::peer_rejected, 0.01);
    inbound.connection_opened();
    inbound.connection_opened();
    inbound.connection_closed();
    inbound.connection_rejected("max_connections");
    inbound.connection_rejected("shutting_down");
    inbound.request(200, 0.01);
    inbound.request(200, 0.02);
    inbound.request(502, 0.03);
    inbound.request(-1, 0.03);
    inbound.lorawan_message("JoinReq", "");
    inbound.lorawan_message("JoinAns", "Success");
    inbound.lorawan_message("JoinAns", "UnkownReceiver");
    inbound.lorawan_message("<script>", "x\ny");
    inbound.certificate_expiry(1893456000);
    inbound.pending_dns(+3);
    inbound.pending_dns(-1);
    metrics.on_tlsa_lookup(dance::dns::LookupStatus::secure, false, 0.004);
    metrics.on_tlsa_lookup(dance::dns::LookupStatus::secure, true, 0.00002);
    metrics.on_tlsa_lookup(dance::dns::LookupStatus::bogus, false, 0.003);
    metrics.set_tlsa_cache_entries(42);
    metrics.config_reload(true);

    std::string text = metrics.serialize();
    CHECK(has_line(text, handshake_series("ns-in", "inbound", "ok") + " 2"));
    CHECK(has_line(text, handshake_series("ns-in", "inbound", "not_allowed") + " 1"));
    CHECK(has_line(text, handshake_series("ns-in", "inbound", "tls_error") + " 1"));
    CHECK(has_line(text, handshake_series("js-out", "outbound", "peer_rejected") + " 1"));
    CHECK(has_line(text, "dance_handshake_duration_seconds_count{direction=\"inbound\",listener=\"ns-in\"} 4"));
    CHECK(has_line(text, "dance_handshake_duration_seconds_bucket{direction=\"inbound\",listener=\"ns-in\","
                         "le=\"0.001\"} 2"));
    CHECK(has_line(text, "dance_connections_active{direction=\"inbound\",listener=\"ns-in\"} 1"));
    CHECK(has_line(text, "dance_connections_rejected_total{direction=\"inbound\",listener=\"ns-in\","
                         "reason=\"max_connections\"} 1"));
    CHECK(has_line(text, "dance_connections_rejected_total{direction=\"inbound\",listener=\"ns-in\","
                         "reason=\"shutting_down\"} 1"));
    CHECK(has_line(text, "dance_requests_total{code=\"200\",direction=\"inbound\",listener=\"ns-in\"} 2"));
    CHECK(has_line(text, "dance_requests_total{code=\"502\",direction=\"inbound\",listener=\"ns-in\"} 1"));
    CHECK(has_line(text, "dance_requests_total{code=\"0\",direction=\"inbound\",listener=\"ns-in\"} 1"));
    CHECK(has_line(text, "dance_request_duration_seconds_count{direction=\"inbound\",listener=\"ns-in\"} 4"));
    CHECK(has_line(text, "dance_lorawan_messages_total{listener=\"ns-in\",message_type=\"JoinReq\","
                         "result_code=\"none\"} 1"));
    CHECK(has_line(text, "dance_lorawan_messages_total{listener=\"ns-in\",message_type=\"JoinAns\","
                         "result_code=\"Success\"} 1"));
    CHECK(has_line(text, "dance_lorawan_messages_total{listener=\"ns-in\",message_type=\"JoinAns\","
                         "result_code=\"UnknownReceiver\"} 1"));
    CHECK(has_line(text, "dance_lorawan_messages_total{listener=\"ns-in\",message_type=\"unrecognized\","
                         "result_code=\"unrecognized\"} 1"));
    CHECK(text.find("<script>") == std::string::npos);
    CHECK(has_line(text, "dance_certificate_expiry_timestamp_seconds{listener=\"ns-in\"} 1893456000"));
    CHECK(has_line(text, "dance_pending_dns_handshakes{listener=\"ns-in\"} 2"));
    CHECK(has_line(text, "dance_tlsa_lookups_total{cache=\"miss\",result=\"secure\"} 1"));
    CHECK(has_line(text, "dance_tlsa_lookups_total{cache=\"hit\",result=\"secure\"} 1"));
    CHECK(has_line(text, "dance_tlsa_lookups_total{cache=\"miss\",result=\"bogus\"} 1"));
    CHECK(has_line(text, "dance_tlsa_lookup_duration_seconds_count 3"));
    CHECK(has_line(text, "dance_tlsa_cache_entries 42"));
    CHECK(has_line(text, "dance_config_reloads_total{result=\"ok\"} 1"));
}

TEST_CASE("listener() returns the same object for the same name and direction") {
    Metrics metrics("test");
    auto& first = metrics.listener("a", Direction::inbound);
    CHECK(&first == &metrics.listener("a", Direction::inbound));
    CHECK(&first != &metrics.listener("a", Direction::outbound));
    CHECK(first.name() == "a");
}

TEST_CASE("handshake results: one label each, scoped to a listener kind, DNS failures map to dns_*") {
    std::set<std::string_view> labels;
    for (const auto& info : dance::proxy::handshake_results) labels.insert(info.label);
    CHECK(labels.size() == dance::proxy::handshake_result_count);
    CHECK(dance::proxy::to_string(HandshakeResult::too_many_pending) == "too_many_pending");
    CHECK(dance::proxy::applies_to_inbound(HandshakeResult::not_allowed));
    CHECK_FALSE(dance::proxy::applies_to_outbound(HandshakeResult::not_allowed));
    CHECK_FALSE(dance::proxy::applies_to_inbound(HandshakeResult::peer_rejected));
    CHECK(dance::proxy::dns_failure_result(dance::dns::LookupStatus::bogus) == HandshakeResult::dns_bogus);
    CHECK(dance::proxy::dns_failure_result(dance::dns::LookupStatus::timeout) == HandshakeResult::dns_timeout);
    CHECK(dance::proxy::dns_failure_result(dance::dns::LookupStatus::error) == HandshakeResult::dns_error);
}

TEST_CASE("counters stay exact under concurrent updates from several threads") {
    Metrics metrics("test");
    auto& listener = metrics.listener("busy", Direction::inbound);
    constexpr int threads = 4;
    constexpr int per_thread = 5000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                listener.handshake(HandshakeResult::ok, 0.001);
                listener.request(200 + i % 3, 0.001);  // 200, 201, 202: created on first use, racing
                listener.lorawan_message("JoinReq", "Success");
            }
        });
    }
    for (auto& worker : workers) worker.join();
    std::string text = metrics.serialize();
    const std::string total = std::to_string(threads * per_thread);
    CHECK(has_line(text, handshake_series("busy", "inbound", "ok") + " " + total));
    CHECK(has_line(text, "dance_lorawan_messages_total{listener=\"busy\",message_type=\"JoinReq\","
                         "result_code=\"Success\"} " + total));
    int requests = 0;
    for (int code : {200, 201, 202}) {
        std::string prefix = "dance_requests_total{code=\"" + std::to_string(code) +
                             "\",direction=\"inbound\",listener=\"busy\"} ";
        auto at = text.find(prefix);
        REQUIRE(at != std::string::npos);
        requests += std::stoi(text.substr(at + prefix.size()));
    }
    CHECK(requests == threads * per_thread);
}

namespace {
double sample_of(const std::string& text, const std::string& name) {
    auto at = text.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + name.size() + 2));
}

// Counted without /proc: every descriptor number fcntl() knows.
double descriptors_open_now() {
    long highest = ::sysconf(_SC_OPEN_MAX);
    double open = 0;
    for (int fd = 0; fd < highest && fd < 65536; ++fd) open += ::fcntl(fd, F_GETFD) != -1 ? 1 : 0;
    return open;
}
}  // namespace

TEST_CASE("process_* series as other exporters give them, read from procfs at each scrape") {
    Metrics metrics("test");
    std::string text = metrics.serialize();
    CHECK(text.find("# TYPE process_cpu_seconds_total counter") != std::string::npos);
    CHECK(sample_of(text, "process_cpu_seconds_total") >= 0);
    double resident = sample_of(text, "process_resident_memory_bytes");
    CHECK(resident > 1024 * 1024);  // a running test binary holds more than 1 MiB
    CHECK(sample_of(text, "process_virtual_memory_bytes") >= resident);
    double open = sample_of(text, "process_open_fds");
    CHECK(open == descriptors_open_now());  // exact: the listing's own descriptor is not counted
    CHECK(sample_of(text, "process_max_fds") >= open);
    double started = sample_of(text, "process_start_time_seconds");
    double now = static_cast<double>(std::time(nullptr));
    CHECK(started <= now + 1);
    CHECK(started > now - 24 * 3600);  // this test process started today
    int extra = ::open("/dev/null", O_RDONLY);
    REQUIRE(extra >= 0);
    CHECK(sample_of(metrics.serialize(), "process_open_fds") == open + 1);
    ::close(extra);
    CHECK(dance::proxy::collect_process_metrics("/nonexistent").empty());
}
