#include "proxy/relay/request_relay.hpp"

#include <chrono>

#include "base/time_util.hpp"
#include "proxy/lorawan/lorawan_answer.hpp"
#include "proxy/lorawan/lorawan_message.hpp"
#include "proxy/observe/handshake_report.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {
namespace {

std::string describe(const UpstreamFailure& failure, std::string_view peer_name) {
    switch (failure.kind) {
        case UpstreamError::peer_rejected:
            return std::string(peer_name) + " rejected our DANE client identity: " + failure.description;
        case UpstreamError::server_auth_failed:
            return std::string(peer_name) + " not authenticated: " + failure.description;
        case UpstreamError::dns_failed: return "DNS lookup for " + std::string(peer_name) + " failed: " + failure.description;
        case UpstreamError::route_failed: return "no route: " + failure.description;
        case UpstreamError::timeout:
        case UpstreamError::connect_timeout: return std::string(peer_name) + " timed out: " + failure.description;
        default: return std::string(peer_name) + " unavailable: " + failure.description;
    }
}

// A rejection of our identity read after the handshake (TLS 1.3) is a handshake result; the rest are not.
void report_failure(ListenerMetrics& metrics, const UpstreamFailure& failure, std::string_view peer_name,
                    std::string_view identity) {
    if (failure.kind == UpstreamError::peer_rejected) {
        return report_handshake(metrics, {HandshakeResult::peer_rejected, 0, peer_name, identity, failure.description});
    }
    if (failure.kind == UpstreamError::route_failed) {  // the sender's input decides: not a warning
        return log::info("route_failed", {{"listener", metrics.name()}, {"result", failure.reason},
                                          {"detail", failure.description}});
    }
    log::warn("upstream_failed", {{"listener", metrics.name()}, {"peer", peer_name},
                                  {"error", to_string(failure.kind)}, {"detail", failure.description}});
}

// A receiver the federation's signed zone says does not exist (UnkownReceiver), or whose published service we
// cannot use (Other), is the partner's business: answered 200, as ChirpStack v4 reads the Result of 2xx answers
// only. Every other failure is ours: Other, with a 5xx status.
bool partner_side_route_failure(const UpstreamFailure& failure) {
    return failure.kind == UpstreamError::route_failed &&
           (failure.reason == "unknown_receiver" || failure.reason == "no_service");
}

int status_for(const UpstreamFailure& failure) {
    if (partner_side_route_failure(failure)) return 200;
    bool timed_out = failure.kind == UpstreamError::timeout || failure.kind == UpstreamError::connect_timeout ||
                     (failure.kind == UpstreamError::route_failed && failure.reason == "timeout");
    return timed_out ? 504 : 502;
}

}  // namespace

HttpResponse session_error_response(int status, std::string_view problem) {
    return make_response(status, error_answer_body("", problem), "application/json");
}

std::string_view failure_result_code(const UpstreamFailure& failure) {
    return failure.kind == UpstreamError::route_failed ? route_failure_result_code(failure.reason) : "Other";
}

HttpResponse failure_response(const UpstreamFailure& failure, std::string_view request_body,
                              std::string_view peer_name) {
    return make_response(status_for(failure),
                         error_answer_body(request_body, describe(failure, peer_name), failure_result_code(failure)),
                         "application/json");
}

void finish_request(ListenerMetrics& metrics, const RequestOrigin& origin, const RequestSummary& request,
                    ResponseWriter& writer, HttpResponse response, std::string_view result_code, double seconds) {
    metrics.request(response.status, seconds);
    metrics.lorawan_message(request.message_type, result_code);
    log::access({metrics.name(), metrics.direction(), origin.client, origin.identity, request.method, request.path,
                 response.status, request.message_type, result_code, seconds * 1000});
    writer.send(std::move(response));
}

void refuse_request(ListenerMetrics& metrics, const RequestOrigin& origin, const HttpRequest& request,
                    ResponseWriter& writer, int status, std::string_view message_type, std::string_view result_code,
                    const std::string& description) {
    HttpResponse answer = make_response(status, error_answer_body(request.body, description, result_code), "application/json");
    finish_request(metrics, origin, {request.method, request.target, message_type}, writer, std::move(answer),
                   result_code, 0);
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
    auto observe = route.observe;
    // Moved, not copied, into the callback: the request's strings are not needed here any more.
    auto relay_answer = [started, peer_name, &metrics, writer = std::move(writer), message = std::move(message),
                         request_body = std::move(request_body), method = std::move(method), path = std::move(path),
                         origin = std::move(origin), observe = std::move(observe)](UpstreamResult result) mutable {
        if (observe) observe(result);
        HttpResponse response;
        std::string result_code;
        if (result.ok()) {
            response = std::move(*result.response);
            strip_hop_by_hop_headers(response);
            if (auto answer = parse_backend_message(response.body)) result_code = answer->result_code;
        } else {
            response = failure_response(result.failure, request_body, peer_name);
            result_code = failure_result_code(result.failure);
            // Logged once: by the connector when it failed while connecting, else here.
            if (!result.failure.handshake_counted) report_failure(metrics, result.failure, peer_name, origin.identity);
        }
        std::string_view message_type = message ? std::string_view(message->message_type) : std::string_view();
        finish_request(metrics, origin, {method, path, message_type}, writer, std::move(response), result_code,
                       seconds_since(started));
    };
    route.pool.send(std::move(request), std::move(relay_answer));
}

}  // namespace dance::proxy
