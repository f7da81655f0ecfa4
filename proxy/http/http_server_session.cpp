#include "proxy/http/http_server_session.hpp"

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "base/time_util.hpp"
#include "proxy/net/write_now.hpp"

namespace dance::proxy {
namespace {

int status_for(HttpParseError error) {
    switch (error) {
        case HttpParseError::body_too_large: return 413;
        case HttpParseError::headers_too_large: return 431;
        case HttpParseError::unsupported: return 501;
        default: return 400;
    }
}


}  // namespace

struct ResponseWriter::Slot {
    std::weak_ptr<HttpServerSession*> session;
    std::uint64_t sequence = 0;
    bool used = false;

    ~Slot() {
        if (used) return;
        if (auto alive = session.lock()) (*alive)->deliver(sequence, (*alive)->error_response(502, "no response"));
    }
    void deliver(HttpResponse response) {
        used = true;
        if (auto alive = session.lock()) (*alive)->deliver(sequence, std::move(response));
    }
};

void ResponseWriter::send(HttpResponse response) {
    if (slot_ && !slot_->used) slot_->deliver(std::move(response));
}

bool ResponseWriter::can_send() const { return slot_ && !slot_->used && !slot_->session.expired(); }

HttpServerSession::HttpServerSession(bufferevent* connection, HttpServerSessionOptions options,
                                     RequestHandler on_request, ClosedHandler on_closed)
    : connection_(connection),
      options_(options),
      on_request_(std::move(on_request)),
      on_closed_(std::move(on_closed)),
      parser_(options.limits),
      alive_token_(std::make_shared<HttpServerSession*>(this)) {
    event_base* base = bufferevent_get_base(connection);
    idle_timer_.reset(evtimer_new(base, &HttpServerSession::on_idle_timeout, this));
    closed_notice_.reset(event_new(base, -1, 0, &HttpServerSession::on_closed_notice, this));
    // Write timeout: a client that stops reading its answers is dropped after the idle period.
    timeval write_timeout = milliseconds_to_timeval(options_.idle_ms);
    bufferevent_set_timeouts(connection, nullptr, &write_timeout);
    // on_write runs whenever the answers waiting to go out drop to this level: reading may resume.
    bufferevent_setwatermark(connection, EV_WRITE, options_.max_buffered_output / 4, 0);
    if (options_.buffer_budget != nullptr)
        bufferevent_setwatermark(connection, EV_READ, 0, HttpServerSessionOptions::budgeted_read_chunk);
    bufferevent_setcb(connection, &HttpServerSession::on_read, &HttpServerSession::on_write,
                      &HttpServerSession::on_event, this);
    bufferevent_enable(connection, EV_READ | EV_WRITE);
    update_idle_timer();
    // Bytes may already be buffered (e.g. read together with the end of a TLS handshake). Deferred, so the
    // handler never runs inside this constructor.
    if (evbuffer_get_length(bufferevent_get_input(connection)) > 0)
        bufferevent_trigger(connection, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

HttpServerSession::~HttpServerSession() {
    if (options_.buffer_budget != nullptr) options_.buffer_budget->release(charged_bytes_);
}

void HttpServerSession::close() { close_now("closed"); }

bool HttpServerSession::idle() const {
    if (closed_) return true;
    return pipeline_.empty() && !parser_.message_started() &&
           evbuffer_get_length(bufferevent_get_input(connection_.get())) == 0;
}

bool HttpServerSession::closable_now() const {
    return idle() && (closed_ || evbuffer_get_length(bufferevent_get_output(connection_.get())) == 0);
}

void HttpServerSession::end_keep_alive() {
    if (closed_ || lingering_ || stop_reading_) return;
    if (!pipeline_.empty()) {
        pipeline_.back().close_after = true;
        stop_reading_ = true;
        bufferevent_disable(connection_.get(), EV_READ);
        return;
    }
    if (next_sequence_ == 0 || !idle()) {
        keep_alive_ended_ = true;
        return;
    }
    stop_reading_ = true;
    if (evbuffer_get_length(bufferevent_get_output(connection_.get())) > 0) {
        close_when_flushed_ = true;
        update_idle_timer();
    } else {
        linger_then_close();
    }
}

void HttpServerSession::on_read(bufferevent*, void* self) { static_cast<HttpServerSession*>(self)->read_requests(); }

void HttpServerSession::on_write(bufferevent*, void* self) {
    auto* session = static_cast<HttpServerSession*>(self);
    if (session->closed_) return;
    session->charge_buffered_bytes_unconditionally();  // sent answers give their bytes back
    // libevent may call this before a just-queued answer reached the socket: wait until it is all out.
    if (evbuffer_get_length(bufferevent_get_output(session->connection_.get())) > 0 || !session->close_when_flushed_) {
        session->resume_reading();
        return;
    }
    if (!session->lingering_) session->linger_then_close();
}

// Closing with unread request bytes (an over-limit body, say) makes the kernel send RST, and the client's
// kernel may then drop the answer we just wrote. So: shut down our side, discard what the client still sends
// until its FIN or a short limit, then close.
void HttpServerSession::linger_then_close() {
    lingering_ = true;
    ::shutdown(bufferevent_getfd(connection_.get()), SHUT_WR);
    evbuffer_drain(bufferevent_get_input(connection_.get()), evbuffer_get_length(bufferevent_get_input(connection_.get())));
    bufferevent_enable(connection_.get(), EV_READ);
    static constexpr timeval linger_limit{1, 0};
    evtimer_add(idle_timer_.get(), &linger_limit);
}

void HttpServerSession::on_event(bufferevent*, short what, void* self) {
    if (what & BEV_EVENT_CONNECTED) return;  // a TLS bufferevent finishing its handshake: not an ending
    auto* session = static_cast<HttpServerSession*>(self);
    if (session->lingering_) {
        session->close_now("connection_close");
    } else if (what & BEV_EVENT_EOF) {
        session->handle_client_eof();
    } else {
        session->close_now("io_error");
    }
}

void HttpServerSession::on_idle_timeout(evutil_socket_t, short, void* self) {
    auto* session = static_cast<HttpServerSession*>(self);
    session->close_now(session->lingering_ ? "connection_close" : "idle_timeout");
}

void HttpServerSession::on_closed_notice(evutil_socket_t, short, void* self) {
    auto* session = static_cast<HttpServerSession*>(self);
    if (session->on_closed_) session->on_closed_();  // may destroy the session: nothing after this
}

void HttpServerSession::read_requests() {
    if (lingering_) {
        evbuffer* input = bufferevent_get_input(connection_.get());
        evbuffer_drain(input, evbuffer_get_length(input));
        return;
    }
    if (closed_ || in_read_loop_) return;
    in_read_loop_ = true;
    evbuffer* input = bufferevent_get_input(connection_.get());
    while (!closed_ && !stop_reading_ && pipeline_.size() < options_.max_pipelined && !output_backlogged()) {
        bool ready = parser_.parse_from(input);
        if (!charge_buffered_bytes()) {
            answer_buffer_budget_exceeded();
            break;
        }
        if (ready) {
            std::size_t request_bytes = parser_.message_bytes();
            dispatch(parser_.take_request(), request_bytes);
            continue;
        }
        if (parser_.failed()) answer_parse_error();
        else maybe_send_continue();
        break;
    }
    in_read_loop_ = false;
    if (closed_) return;
    if (!stop_reading_ && !charge_buffered_bytes()) answer_buffer_budget_exceeded();
    if (stop_reading_) {
        bufferevent_disable(connection_.get(), EV_READ);
    } else if (pipeline_.size() >= options_.max_pipelined || output_backlogged()) {
        bufferevent_disable(connection_.get(), EV_READ);
        reading_paused_ = true;
    }
}

bool HttpServerSession::output_backlogged() const {
    return evbuffer_get_length(bufferevent_get_output(connection_.get())) > options_.max_buffered_output;
}

// Reading stopped only for a full pipeline or a backlog of answers: resumes once both have room again.
void HttpServerSession::resume_reading() {
    if (!reading_paused_ || closed_ || lingering_ || stop_reading_ || close_when_flushed_) return;
    if (pipeline_.size() >= options_.max_pipelined || output_backlogged()) return;
    reading_paused_ = false;
    bufferevent_enable(connection_.get(), EV_READ);
    if (!in_read_loop_ && evbuffer_get_length(bufferevent_get_input(connection_.get())) > 0) read_requests();
}

void HttpServerSession::dispatch(HttpRequest&& request, std::size_t request_bytes) {
    bool keep_alive = !keep_alive_ended_ && parser_.keep_alive() && request.wants_keep_alive();
    bool http10 = request.version_major == 1 && request.version_minor == 0;
    std::uint64_t sequence = next_sequence_++;
    pipeline_.push_back({sequence, !keep_alive, keep_alive && http10, request_bytes, std::nullopt});
    dispatched_bytes_ += request_bytes;
    continue_sent_ = false;
    if (!keep_alive) stop_reading_ = true;
    update_idle_timer();
    on_request_(std::move(request), ResponseWriter(std::make_shared<ResponseWriter::Slot>(alive_token_, sequence)));
}

void HttpServerSession::answer_parse_error() { answer_error(status_for(parser_.error()), to_string(parser_.error())); }

void HttpServerSession::answer_buffer_budget_exceeded() {
    answer_error(503, "too many request bytes buffered for this kind of client; retry later");
    if (options_.on_buffer_budget_exceeded) options_.on_buffer_budget_exceeded();
}

// Answers in turn (after the requests already dispatched) and ends the connection.
void HttpServerSession::answer_error(int status, std::string_view problem) {
    stop_reading_ = true;
    auto response = error_response(status, problem);
    response.set_header("Connection", "close");
    pipeline_.push_back({next_sequence_++, true, false, 0, serialize(response)});
    flush_ready_answers();
}

// Everything still in memory, a refused request's bytes included: they are given back when the connection
// closes (a client could otherwise hold them uncounted by reading its answers slowly).
std::size_t HttpServerSession::buffered_bytes() const {
    std::size_t unsent = evbuffer_get_length(bufferevent_get_output(connection_.get()));
    std::size_t unparsed = evbuffer_get_length(bufferevent_get_input(connection_.get()));
    return parser_.message_bytes() + dispatched_bytes_ + unparsed + unsent;
}

// Charges what this connection holds to the shared budget; false when that would exceed its limit.
bool HttpServerSession::charge_buffered_bytes() {
    if (options_.buffer_budget == nullptr || closed_) return true;
    return options_.buffer_budget->resize(charged_bytes_, buffered_bytes(), options_.buffer_budget_limit);
}

// After answers were queued or sent: they are in memory whatever the limit, so they are counted as they are.
void HttpServerSession::charge_buffered_bytes_unconditionally() {
    if (options_.buffer_budget == nullptr || closed_) return;
    options_.buffer_budget->force(charged_bytes_, buffered_bytes());
}

HttpResponse HttpServerSession::error_response(int status, std::string_view problem) const {
    if (options_.error_response) return options_.error_response(status, problem);
    return make_response(status, std::string(problem) + "\n");
}

void HttpServerSession::maybe_send_continue() {
    if (continue_sent_ || !pipeline_.empty() || !parser_.expects_continue()) return;
    continue_sent_ = true;
    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    bufferevent_write(connection_.get(), continue_line.data(), continue_line.size());
}

void HttpServerSession::deliver(std::uint64_t sequence, HttpResponse response) {
    if (closed_) return;
    for (auto& answer : pipeline_) {
        if (answer.sequence != sequence || answer.bytes) continue;
        if (response.has_connection_token("close")) {
            answer.close_after = true;  // the handler wants the connection closed after this answer
            stop_reading_ = true;
        }
        if (answer.close_after) response.set_header("Connection", "close");
        else if (answer.http10_keep_alive) response.set_header("Connection", "keep-alive");
        answer.bytes = serialize(response);
        break;
    }
    flush_ready_answers();
}

void HttpServerSession::flush_ready_answers() {
    while (!pipeline_.empty() && pipeline_.front().bytes) {
        const std::string& bytes = *pipeline_.front().bytes;
        bufferevent_write(connection_.get(), bytes.data(), bytes.size());
        ++responses_sent_;
        if (pipeline_.front().close_after) close_when_flushed_ = true;
        dispatched_bytes_ -= pipeline_.front().request_bytes;
        pipeline_.erase(pipeline_.begin());
        if (close_when_flushed_) {
            pipeline_.clear();
            dispatched_bytes_ = 0;
            break;
        }
    }
    write_now(connection_.get());
    charge_buffered_bytes_unconditionally();  // answered requests give their bytes back, unsent answers take some
    update_idle_timer();
    resume_reading();
}

// Armed whenever no request is in progress, a final answer still going out included: a client that reads
// a trickle (each bit of progress resets the write timeout) gets idle_ms for it, not forever.
void HttpServerSession::update_idle_timer() {
    if (closed_ || lingering_) return;
    if (pipeline_.empty()) {
        timeval timeout = milliseconds_to_timeval(options_.idle_ms);
        evtimer_add(idle_timer_.get(), &timeout);
    } else {
        evtimer_del(idle_timer_.get());
    }
}

void HttpServerSession::handle_client_eof() {
    // A half-closed client still gets the answers to the requests it completed.
    stop_reading_ = true;
    bufferevent_disable(connection_.get(), EV_READ);
    if (!pipeline_.empty()) {
        pipeline_.back().close_after = true;
    } else if (evbuffer_get_length(bufferevent_get_output(connection_.get())) > 0) {
        close_when_flushed_ = true;
        update_idle_timer();
    } else {
        close_now("client_eof");
    }
}

void HttpServerSession::close_now(std::string_view reason) {
    if (closed_) return;
    closed_ = true;
    close_reason_ = reason;
    alive_token_.reset();
    pipeline_.clear();
    dispatched_bytes_ = 0;
    if (options_.buffer_budget != nullptr) options_.buffer_budget->release(charged_bytes_);
    evtimer_del(idle_timer_.get());
    connection_.reset();
    event_active(closed_notice_.get(), EV_TIMEOUT, 1);
}

}  // namespace dance::proxy
