#include "proxy/upstream/upstream_result.hpp"

namespace dance::proxy {

std::string_view to_string(UpstreamError error) {
    switch (error) {
        case UpstreamError::connect_failed: return "connect_failed";
        case UpstreamError::connect_timeout: return "connect_timeout";
        case UpstreamError::dns_failed: return "dns_failed";
        case UpstreamError::tls_failed: return "tls_failed";
        case UpstreamError::server_auth_failed: return "server_auth_failed";
        case UpstreamError::peer_rejected: return "peer_rejected";
        case UpstreamError::timeout: return "timeout";
        case UpstreamError::closed_before_response: return "closed_before_response";
        case UpstreamError::protocol_error: return "protocol_error";
        case UpstreamError::response_too_large: return "response_too_large";
        case UpstreamError::route_failed: return "route_failed";
        case UpstreamError::other: return "other";
    }
    return "other";
}

}  // namespace dance::proxy
