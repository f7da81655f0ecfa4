// How a handshake ended, in one call: counted in dance_handshakes_total{result} and its duration histogram,
// and, when refused, logged once as `handshake_failed`. Both listener kinds report through here.
#pragma once

#include <string_view>

#include "proxy/observe/metrics.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {

struct HandshakeReport {
    HandshakeResult result = HandshakeResult::tls_error;
    double seconds = 0;
    std::string_view peer;       // inbound: the client's address; outbound: the upstream host:port
    std::string_view client_id;  // the ClientName (inbound, when known) or our own (outbound)
    std::string_view detail;     // why, for the log line
};

void report_handshake(ListenerMetrics& metrics, const HandshakeReport& report);

}  // namespace dance::proxy
