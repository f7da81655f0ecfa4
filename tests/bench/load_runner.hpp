// Runs HandshakeClients on one event loop: keeps `concurrency` connections in progress until `count`
// succeeded or `duration` passed (handshake rate), or opens `hold` connections and keeps them (memory).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/tls/tls_connector.hpp"

namespace dance::bench {

struct LoadSettings {
    proxy::TlsConnectTarget target;
    std::string request_wire;  // empty in hold mode
    unsigned concurrency = 1;
    uint64_t count = 0;        // stop after this many successes; 0 = no limit
    double duration_s = 5;
    uint64_t hold = 0;         // > 0: open this many connections and keep them
};

struct LoadTotals {
    uint64_t succeeded = 0;
    uint64_t failed = 0;
    std::string first_error;
    double elapsed_s = 0;
    std::vector<double> latencies_ms;  // of successful connections
};

class LoadRunner {
public:
    LoadRunner(SSL_CTX* ctx, LoadSettings settings);
    ~LoadRunner();
    LoadTotals run();  // blocks until done; in hold mode returns with the connections still open
    void wait_for_stop_signal();  // hold mode: keeps the connections until SIGTERM, SIGINT or stdin EOF

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace dance::bench
