// One client connection speaking HTTP/1.1 to us, over any bufferevent (plain TCP or TLS).
//
// Requests are parsed whole (see HttpParseLimits) and handed to the handler with a ResponseWriter; the
// handler may answer at once or later. Pipelined requests are dispatched as they arrive (up to
// max_pipelined ahead) and answered strictly in order. Everything runs on the bufferevent's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/c_handles.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/http_parser_request.hpp"
#include "proxy/http/shared_byte_budget.hpp"

namespace dance::proxy {

class HttpServerSession;

// Sends the answer to one request: one-shot (later sends are ignored), a no-op once the session is gone.
// Copies share the same answer slot, so a writer can be captured by a std::function. When the last copy
// is destroyed without an answer, the session answers 502, so a forgotten request cannot stall it.
class ResponseWriter {
public:
    ResponseWriter() = default;

    void send(HttpResponse response);
    void operator()(HttpResponse response) { send(std::move(response)); }
    // The session still exists and waits for this answer.
    bool can_send() const;

private:
    friend class HttpServerSession;
    struct Slot;
    explicit ResponseWriter(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}

    std::shared_ptr<Slot> slot_;
};

struct HttpServerSessionOptions {
    // Closes the connection when no request is in progress for this long: between requests, and from the
    // last answer until the next request is completely received (slow senders are cut off too).
    std::uint32_t idle_ms = 60000;
    HttpParseLimits limits;             // over-limit requests get 413 / 431, malformed ones 400
    std::size_t max_pipelined = 16;     // requests dispatched ahead of their answers
    // No further request is read while this many answer bytes wait for the client (one that sends and never
    // reads cannot make us hold its answers without bound); reading resumes when a quarter is left.
    std::size_t max_buffered_output = 64 * 1024;
    // Builds the answers the session makes itself (400/413/431/501 on bad requests, 502 for a dropped
    // writer), e.g. as LoRaWAN JSON. Unset: a text/plain body naming the problem.
    std::function<HttpResponse(int status, std::string_view problem)> error_response;
    // When set, the bytes this connection buffers (the request being received, those dispatched and not yet
    // answered, unparsed input, answers not yet sent) are charged to `buffer_budget`; a connection whose next
    // request would take it past `buffer_budget_limit` gets 503 and is closed, and `on_buffer_budget_exceeded`
    // runs. Such a connection also reads at most `budgeted_read_chunk` bytes ahead of its parser, so what it
    // holds before being charged stays small.
    SharedByteBudget* buffer_budget = nullptr;
    std::size_t buffer_budget_limit = 0;
    std::function<void()> on_buffer_budget_exceeded;
    static constexpr std::size_t budgeted_read_chunk = 16 * 1024;
};

class HttpServerSession {
public:
    using RequestHandler = std::function<void(HttpRequest&& request, ResponseWriter writer)>;
    // Runs once, from the event loop after the connection is gone; the owner may destroy the session in it
    // (and only there, or outside any session callback: from inside on_request, call close() instead).
    using ClosedHandler = std::function<void()>;

    // Takes ownership of `connection` (an established, possibly TLS, bufferevent) and starts reading.
    HttpServerSession(bufferevent* connection, HttpServerSessionOptions options, RequestHandler on_request,
                      ClosedHandler on_closed);
    ~HttpServerSession();
    HttpServerSession(const HttpServerSession&) = delete;
    HttpServerSession& operator=(const HttpServerSession&) = delete;

    // Closes now, dropping unanswered requests; on_closed follows.
    void close();
    // Ends keep-alive gracefully: no request after the one in progress (or, if none has arrived yet, the next
    // one) is accepted; that request's answer says "Connection: close". An idle connection closes now.
    void end_keep_alive();

    bool is_closed() const { return closed_; }
    // Nothing in progress: every request answered and no part of a next one received.
    bool idle() const;
    // Idle, and every answer has left: closing now loses nothing.
    bool closable_now() const;
    // Why it closed: "client_eof", "idle_timeout", "connection_close", "bad_request", "io_error", "closed".
    std::string_view close_reason() const { return close_reason_; }
    std::uint64_t requests_received() const { return next_sequence_; }
    std::uint64_t responses_sent() const { return responses_sent_; }

private:
    friend class ResponseWriter;
    struct PendingAnswer {
        std::uint64_t sequence;
        bool close_after;       // the client asked for it, or this is an error answer
        bool http10_keep_alive; // an HTTP/1.0 client asked for keep-alive: say yes explicitly
        std::size_t request_bytes;  // charged to the buffer budget until answered
        std::optional<std::string> bytes;
    };

    static void on_read(bufferevent* bev, void* self);
    static void on_write(bufferevent* bev, void* self);
    static void on_event(bufferevent* bev, short what, void* self);
    static void on_idle_timeout(evutil_socket_t, short, void* self);
    static void on_closed_notice(evutil_socket_t, short, void* self);

    void read_requests();
    void dispatch(HttpRequest&& request, std::size_t request_bytes);
    void answer_parse_error();
    void answer_buffer_budget_exceeded();
    void answer_error(int status, std::string_view problem);
    bool charge_buffered_bytes();
    void charge_buffered_bytes_unconditionally();
    std::size_t buffered_bytes() const;
    bool output_backlogged() const;
    void resume_reading();
    void maybe_send_continue();
    void deliver(std::uint64_t sequence, HttpResponse response);
    HttpResponse error_response(int status, std::string_view problem) const;
    void flush_ready_answers();
    void update_idle_timer();
    void handle_client_eof();
    void close_now(std::string_view reason);
    void linger_then_close();

    BuffereventPtr connection_;
    HttpServerSessionOptions options_;
    RequestHandler on_request_;
    ClosedHandler on_closed_;
    HttpRequestParser parser_;
    EventPtr idle_timer_;
    EventPtr closed_notice_;
    std::shared_ptr<HttpServerSession*> alive_token_;
    // In request order. Not a deque: libstdc++'s allocates ~600 bytes up front, on every idle connection.
    std::vector<PendingAnswer> pipeline_;
    std::string close_reason_;
    std::uint64_t next_sequence_ = 0;
    std::uint64_t responses_sent_ = 0;
    std::size_t dispatched_bytes_ = 0;  // request bytes of the dispatched, unanswered requests
    std::size_t charged_bytes_ = 0;     // this connection's share of options_.buffer_budget
    bool stop_reading_ = false;    // no further requests are accepted on this connection
    bool keep_alive_ended_ = false;  // the next request to arrive is the last one
    bool close_when_flushed_ = false;
    bool continue_sent_ = false;
    bool in_read_loop_ = false;
    bool reading_paused_ = false;  // for a full pipeline or a backlog of answers: resume_reading() undoes it
    bool closed_ = false;
    bool lingering_ = false;  // answered and shut down; discarding input until the client's FIN
};

// Draining a listener: closes the sessions with nothing in progress or unsent and ends keep-alive on the
// others, so their answers in progress say "Connection: close" and those already queued are sent first. Returns how many were closed (their on_closed follows
// from the loop).
template <typename Sessions, typename SessionOf>
std::size_t wind_down_sessions(Sessions& sessions, SessionOf session_of) {
    std::vector<HttpServerSession*> idle;
    for (auto& entry : sessions) {
        HttpServerSession& session = session_of(entry);
        if (session.closable_now()) idle.push_back(&session);
        else session.end_keep_alive();
    }
    for (HttpServerSession* session : idle) session->close();
    return idle.size();
}

}  // namespace dance::proxy
