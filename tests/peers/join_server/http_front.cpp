#include "tests/peers/join_server/http_front.hpp"

#include <cstring>
#include <stdexcept>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace dance::peers {
namespace {

constexpr std::size_t kMaxBodyBytes = 1 << 20;

void send(evhttp_request* request, int status, const std::string& body, const char* content_type) {
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", content_type);
    evbuffer* buffer = evbuffer_new();
    evbuffer_add(buffer, body.data(), body.size());
    evhttp_send_reply(request, status, status == 200 ? "OK" : "Bad Request", buffer);
    evbuffer_free(buffer);
}

void send_answer(evhttp_request* request, const HttpAnswer& answer) {
    send(request, answer.status, answer.body, "application/json");
}

// The client sees the connection end with no response. Sending the (now undeliverable) reply afterwards
// lets evhttp fail the write and free the connection and request itself.
void close_without_answer(evhttp_request* request) {
    if (evhttp_connection* connection = evhttp_request_get_connection(request))
        shutdown(bufferevent_getfd(evhttp_connection_get_bufferevent(connection)), SHUT_RDWR);
    evhttp_send_reply(request, 500, "Closed", nullptr);
}

std::string request_body(evhttp_request* request) {
    evbuffer* input = evhttp_request_get_input_buffer(request);
    const std::size_t size = evbuffer_get_length(input);
    std::string body(size, '\0');
    evbuffer_copyout(input, body.data(), size);
    return body;
}

std::string peer_of(evhttp_request* request) {
    evhttp_connection* connection = evhttp_request_get_connection(request);
    if (!connection) return "";
    char* address = nullptr;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(connection, &address, &port);
    return std::string(address ? address : "") + ":" + std::to_string(port);
}

uint16_t bound_port(evhttp_bound_socket* socket) {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (getsockname(evhttp_bound_socket_get_fd(socket), reinterpret_cast<sockaddr*>(&address), &size) != 0)
        throw std::runtime_error(std::string("getsockname: ") + std::strerror(errno));
    if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

}  // namespace

HttpFront::HttpFront(event_base* base, JoinHandler& handler, RequestRecorder* recorder, FailModes fail_modes)
    : base_(base), handler_(handler), recorder_(recorder), fail_modes_(fail_modes), http_(evhttp_new(base)) {
    if (!http_) throw std::runtime_error("evhttp_new failed");
    evhttp_set_max_body_size(http_.get(), kMaxBodyBytes);
    evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(http_.get(), &HttpFront::on_request, this);
}

HttpFront::~HttpFront() {
    // Requests whose client went away were detached from their connection by evhttp and are ours to free;
    // the others are freed with their connections by evhttp_free.
    for (auto& [key, delayed] : delayed_)
        if (!evhttp_request_get_connection(delayed->request)) evhttp_request_free(delayed->request);
}

uint16_t HttpFront::listen(const std::string& host, uint16_t port) {
    evhttp_bound_socket* socket = evhttp_bind_socket_with_handle(http_.get(), host.c_str(), port);
    if (!socket) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
    return bound_port(socket);
}

void HttpFront::on_request(evhttp_request* request, void* self) { static_cast<HttpFront*>(self)->handle(request); }

void HttpFront::handle(evhttp_request* request) {
    const bool is_post = evhttp_request_get_command(request) == EVHTTP_REQ_POST;
    if (!is_post) {
        record(request, "");
        const bool health = std::strcmp(evhttp_request_get_uri(request), "/health") == 0;
        send(request, health ? 200 : 404, health ? "ok\n" : "not found\n", "text/plain");
        return;
    }
    HttpAnswer answer = handler_.answer(request_body(request));
    record(request, answer.message_type);
    if (fail_modes_.close_without_answer)
        close_without_answer(request);
    else if (fail_modes_.delay_ms > 0)
        reply_later(request, std::move(answer));
    else
        send_answer(request, answer);
}

void HttpFront::record(evhttp_request* request, const std::string& message_type) {
    if (!recorder_) return;
    RecordedRequest recorded;
    recorded.method = evhttp_request_get_command(request) == EVHTTP_REQ_POST ? "POST" : "GET";
    recorded.path = evhttp_request_get_uri(request);
    recorded.peer = peer_of(request);
    recorded.message_type = message_type;
    const evkeyvalq* headers = evhttp_request_get_input_headers(request);
    for (const evkeyval* header = headers->tqh_first; header; header = header->next.tqe_next) {
        std::string name = header->key;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        recorded.headers.emplace(std::move(name), header->value);
    }
    recorder_->record(recorded);
}

void HttpFront::reply_later(evhttp_request* request, HttpAnswer answer) {
    auto delayed = std::make_unique<DelayedReply>(DelayedReply{this, request, std::move(answer), nullptr});
    delayed->timer.reset(evtimer_new(base_, &HttpFront::on_delay_over, delayed.get()));
    const timeval delay{fail_modes_.delay_ms / 1000, (fail_modes_.delay_ms % 1000) * 1000};
    evtimer_add(delayed->timer.get(), &delay);
    DelayedReply* key = delayed.get();
    delayed_.emplace(key, std::move(delayed));
}

void HttpFront::on_delay_over(evutil_socket_t, short, void* delayed_reply) {
    auto* delayed = static_cast<DelayedReply*>(delayed_reply);
    send_answer(delayed->request, delayed->answer);  // frees a request whose client has gone
    delayed->front->delayed_.erase(delayed);
}

}  // namespace dance::peers
