// One established connection to an upstream (plain or TLS bufferevent): one request/response exchange at a
// time, and while idle in the pool, a watch that notices the server closing it or sending stray bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/c_handles.hpp"
#include "proxy/http/http_parser_response.hpp"
#include "proxy/upstream/upstream_result.hpp"

namespace dance::proxy {

struct ExchangeOutcome {
    std::optional<HttpResponse> response;
    UpstreamFailure failure;          // without a response
    bool request_bytes_sent = false;  // some request bytes left our buffers
    bool reusable = false;            // keep-alive on both sides and nothing stray after the response
};

class UpstreamConnection {
public:
    using ExchangeDone = std::function<void(ExchangeOutcome)>;
    using DeathHandler = std::function<void(std::string why)>;

    UpstreamConnection(BuffereventPtr connection, HttpParseLimits limits);
    UpstreamConnection(const UpstreamConnection&) = delete;
    UpstreamConnection& operator=(const UpstreamConnection&) = delete;

    // Writes the request (HTTP/1.1, Content-Length framed) and reads one final response (1xx skipped).
    // `done` runs once from the event loop; it may destroy this connection.
    void exchange(const HttpRequest& request, ExchangeDone done);
    bool request_bytes_sent() const;

    // Idle in a pool: EOF, an error, any received byte or idle_timeout_ms without use calls on_dead once.
    void watch_idle(std::uint32_t idle_timeout_ms, DeathHandler on_dead);
    // Cheap non-blocking probe before reuse: false if the peer already closed or reset the socket.
    bool looks_alive() const;

    std::uint64_t exchanges_started() const { return exchanges_started_; }

    // No exchange may start after `until` (the server's authentication expires then).
    void limit_reuse(std::chrono::steady_clock::time_point until) { reuse_until_ = until; }
    std::chrono::steady_clock::time_point reuse_until() const { return reuse_until_; }
    // The pool's generation when it was made: see UpstreamPool::retire_connections().
    void set_generation(std::uint64_t generation) { generation_ = generation; }
    std::uint64_t generation() const { return generation_; }

private:
    static void on_read(bufferevent* bev, void* self);
    static void on_event(bufferevent* bev, short what, void* self);

    void read_response();
    void handle_end_of_stream(short what);
    UpstreamFailure classify_stream_failure(short what);
    unsigned long take_tls_error();
    void finish(ExchangeOutcome outcome);
    void die_idle(std::string why);

    BuffereventPtr connection_;
    HttpResponseParser parser_;
    ExchangeDone exchange_done_;
    DeathHandler on_dead_;
    std::size_t request_size_ = 0;
    std::uint64_t exchanges_started_ = 0;
    std::chrono::steady_clock::time_point reuse_until_ = std::chrono::steady_clock::time_point::max();
    std::uint64_t generation_ = 0;
    bool head_request_ = false;  // the exchange in progress answers a HEAD: no body, also after a 1xx
};

}  // namespace dance::proxy
