// Keep-alive connections to one upstream, and the relaying of whole requests over them.
//
// One request at a time per connection; idle connections are reused newest first and watched, so a
// connection the server closed, or whose authentication expired, is dropped before reuse. A request is retried once, on a fresh connection,
// only if it failed on a reused connection before any of its bytes left our buffers; a request whose bytes
// may have reached the server is never replayed. Single-threaded: use from the event loop's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <vector>

#include "base/c_handles.hpp"
#include "proxy/http/http_parser_core.hpp"
#include "proxy/upstream/upstream_connection.hpp"
#include "proxy/upstream/upstream_connector.hpp"
#include "proxy/upstream/upstream_result.hpp"

namespace dance::proxy {

struct UpstreamPoolOptions {
    std::size_t max_idle = 64;               // idle keep-alive connections kept; 0 = no reuse
    std::uint32_t request_timeout_ms = 5000; // from send() to the complete response: connect + send + wait
    std::uint32_t idle_timeout_ms = 60000;   // an idle connection is closed after this
    HttpParseLimits limits;                  // for responses
};

struct UpstreamPoolStats {
    std::uint64_t requests = 0;             // send() calls
    std::uint64_t responses = 0;            // results with a response
    std::uint64_t failures = 0;             // results with an error
    std::uint64_t connections_opened = 0;   // successful connects (handshakes, for TLS connectors)
    std::uint64_t connect_failures = 0;
    std::uint64_t reuses = 0;               // exchanges on a pooled connection
    std::uint64_t retries = 0;              // requests re-sent on a fresh connection
    std::uint64_t idle_closed = 0;          // idle connections dropped: closed by the server, timeout, stray bytes,
                                            // authentication expired
    std::size_t idle_connections = 0;       // now
    std::size_t requests_in_flight = 0;     // now

    UpstreamPoolStats& operator+=(const UpstreamPoolStats& other);
};

class UpstreamPool {
public:
    using Done = std::function<void(UpstreamResult)>;

    UpstreamPool(event_base* base, Connector connector, UpstreamPoolOptions options);
    // Pending requests are abandoned: their callbacks never run.
    ~UpstreamPool();
    UpstreamPool(const UpstreamPool&) = delete;
    UpstreamPool& operator=(const UpstreamPool&) = delete;

    // Relays the request (hop-by-hop headers are the caller's business; framing is redone here).
    // `done` runs exactly once, from the event loop, never inside send(). It may call send() again or
    // destroy the pool.
    void send(HttpRequest request, Done done);

    UpstreamPoolStats stats() const;
    void close_idle_connections();
    // Connections made so far are never used for another request (a reload changed the certificate, the
    // upstream or the identity they were made with): idle ones close now, busy ones after their answer.
    void retire_connections();

private:
    struct Pending;
    using PendingList = std::list<std::unique_ptr<Pending>>;

    void start_attempt(Pending& pending, bool allow_reuse);
    std::unique_ptr<UpstreamConnection> take_idle_connection();
    void on_connected(Pending* pending, ConnectOutcome outcome);
    void run_exchange(Pending& pending, std::unique_ptr<UpstreamConnection> connection);
    void on_exchanged(Pending* pending, ExchangeOutcome outcome);
    void on_deadline(Pending* pending);
    void keep_idle(std::unique_ptr<UpstreamConnection> connection);
    bool reusable(const UpstreamConnection& connection) const;
    std::uint32_t idle_time_left(const UpstreamConnection& connection) const;
    void drop_idle(UpstreamConnection* connection);
    void complete(Pending* pending, UpstreamResult result);
    void dispose_later(std::unique_ptr<UpstreamConnection> connection);
    void dispose_later(std::unique_ptr<ConnectAttempt> attempt);
    static void on_dispose(evutil_socket_t, short, void* self);

    event_base* base_;
    Connector connector_;
    UpstreamPoolOptions options_;
    PendingList pending_;
    std::deque<std::unique_ptr<UpstreamConnection>> idle_;  // oldest first
    // Objects whose callback is on the stack are freed from the loop, not inside that callback.
    std::vector<std::unique_ptr<UpstreamConnection>> dead_connections_;
    std::vector<std::unique_ptr<ConnectAttempt>> dead_attempts_;
    EventPtr dispose_event_;
    UpstreamPoolStats stats_;
    std::uint64_t generation_ = 0;  // see retire_connections()
};

}  // namespace dance::proxy
