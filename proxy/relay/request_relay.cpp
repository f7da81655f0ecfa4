#include "proxy/relay/request_relay.hpp"

#include <chrono>

#include "proxy/tls/handshake_result.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/lorawan/lorawan_answer.hpp"
#include "proxy/lorawan/lorawan_message.hpp"

namespace dance::proxy {
namespace {

std::string describe(const UpstreamFailure& failure, std::string_view peer_name) {
    switch (failure.kind) {
        case UpstreamError::peer_rejected:
            return std::string(peer_name) + " rejected our DANE client identity: " + failure.description;
        case UpstreamError::server_auth_failed:
            return std::string(peer_name) + " not authenticated: " + failure.description;
        case UpstreamError::dns_failed: return "DNS lookup for " + std::string(peer_name) + " failed: " + failure.description;
        case UpstreamError::timeout:
        case UpstreamError::connect_timeout: return std::string(peer_name) + " timed out: " + failure.description;
        default: return std::string(peer_name) + " unavailable: " + failure.description;
    }
}

int status_for(UpstreamError kind) {
    return kind == UpstreamError::timeout || kind == UpstreamError::connect_timeout ? 504 : 502;
}

}  // namespace

HttpResponse session_error_response(int status, std::string_view problem) {
    return make_response(status, error_answer_body("", problem), "application/json");
}

HttpResponse failure_response(const UpstreamFailure& failure, std::string_view request_body,
                              std::string_view peer_name) {
    return make_response(status_for(failure.kind), error_answer_body(request_body, describe(failure, peer_name)),
                         "application/json");
}

void relay_request(HttpRequest&& request, ResponseWriter writer, const RelayRoute& route, RequestOrigin origin,
                   std::span<ProxyHeader> proxy_headers) {
    auto started = std::chrono::steady_clock::now();
    strip_hop_by_hop_headers(request);
    for (ProxyHeader& header : proxy_headers) {
        request.remove_header_spellings(header.name);
        if (header.value) request.add_header(header.name, *header.value);
    }
    std::optional<BackendMessage> message = parse_backend_message(request.body);
    std::string request_body = request.body;  // only for the error answer: bodies are small
    std::string method = request.method;
    std::string path = request.target;
    ListenerMetrics& metrics = route.metrics;
    std::string_view peer_name = route.peer_name;
    // Moved, not copied, into the callback: the request's strings are not needed here any more.
    auto relay_answer = [started, peer_name, &metrics, writer = std::move(writer), message = std::move(message),
                         request_body = std::move(request_body), method = std::move(method), path = std::move(path),
                         origin = std::move(origin)](UpstreamResult result) mutable {
        HttpResponse response;
        std::string result_code;
        if (result.ok()) {
            response = std::move(*result.response);
            strip_hop_by_hop_headers(response);
            if (auto answer = parse_backend_message(response.body)) result_code = answer->result_code;
        } else {
            response = failure_response(result.failure, request_body, peer_name);
            result_code = "Other";
            if (result.failure.kind == UpstreamError::peer_rejected && !result.failure.handshake_counted) {
                metrics.handshake(HandshakeResult::peer_rejected, 0);
            }
            log::event(log::Level::warn, "upstream_failed",
                       {{"listener", metrics.name()}, {"peer", peer_name},
                        {"error", to_string(result.failure.kind)}, {"detail", result.failure.description}});
        }
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::string message_type = message ? message->message_type : "";
        metrics.request(response.status, seconds);
        metrics.lorawan_message(message_type, result_code);
        log::access({metrics.name(), metrics.direction(), origin.client, origin.identity, method, path,
                     response.status, message_type, result_code, seconds * 1000});
        writer.send(std::move(response));
    };
    route.pool.send(std::move(request), std::move(relay_answer));
}

}  // namespace dance::proxy
