// Test-only program: serves the admin endpoint with a known set of metric events, so a real Prometheus
// can scrape it. Prints "listening <port>" once ready; exits on SIGTERM/SIGINT.
//
//   metrics-fixture [host] [port]      defaults: 127.0.0.1 0 (any free port)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "proxy/observe/admin_server.hpp"
#include "proxy/observe/metrics.hpp"

namespace {

using dance::proxy::Direction;
using dance::proxy::HandshakeResult;

void record_known_events(dance::proxy::Metrics& metrics) {
    auto& inbound = metrics.listener("ns-in", Direction::inbound);
    for (int i = 0; i < 3; ++i) inbound.handshake(HandshakeResult::ok, 0.004);
    inbound.handshake(HandshakeResult::not_allowed, 0.0005);
    inbound.connection_opened();
    inbound.connection_opened();
    inbound.connection_rejected("max_connections");
    inbound.request(200, 0.02);
    inbound.request(200, 0.03);
    inbound.lorawan_message("JoinReq", "");
    inbound.lorawan_message("JoinAns", "Success");
    inbound.certificate_expiry(1893456000);
    inbound.pending_dns(1);

    auto& outbound = metrics.listener("js-out", Direction::outbound);
    outbound.handshake(HandshakeResult::peer_rejected, 0.01);
    outbound.request(200, 0.05);

    metrics.on_tlsa_lookup(dance::dns::LookupStatus::secure, false, 0.003);
    metrics.on_tlsa_lookup(dance::dns::LookupStatus::secure, true, 0.00003);
    metrics.on_tlsa_lookup(dance::dns::LookupStatus::bogus, false, 0.002);
    metrics.set_tlsa_cache_entries(1);
    metrics.config_reload(true);
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = argc > 1 ? argv[1] : "127.0.0.1";
    auto port = static_cast<uint16_t>(argc > 2 ? std::atoi(argv[2]) : 0);

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts: all inherit it

    dance::proxy::Metrics metrics;
    record_known_events(metrics);
    dance::proxy::AdminServer admin({host, port}, metrics);
    admin.add_readiness_check("fixture", [](std::string&) { return true; });
    std::string error;
    if (!admin.start(error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
    }
    std::printf("listening %u\n", static_cast<unsigned>(admin.port()));
    std::fflush(stdout);

    int received = 0;
    sigwait(&stop_signals, &received);
    admin.stop();
    return 0;
}
