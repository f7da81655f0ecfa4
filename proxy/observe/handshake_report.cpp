#include "proxy/observe/handshake_report.hpp"

#include "proxy/observe/log.hpp"

namespace dance::proxy {

void report_handshake(ListenerMetrics& metrics, const HandshakeReport& report) {
    metrics.handshake(report.result, report.seconds);
    if (report.result == HandshakeResult::ok) return;
    log::warn("handshake_failed", {{"listener", metrics.name()}, {"direction", to_string(metrics.direction())},
                                   {"peer", report.peer}, {"client_id", report.client_id},
                                   {"reason", to_string(report.result)}, {"detail", report.detail}});
}

}  // namespace dance::proxy
