#include "tests/peers/ns_emulator/load_runner.hpp"
#include "base/time_util.hpp"

#include <cmath>
#include <stdexcept>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

namespace dance::peers {
namespace {

const char* error_kind(evhttp_request_error error) {
    switch (error) {
        case EVREQ_HTTP_TIMEOUT: return "timeout";
        case EVREQ_HTTP_EOF: return "eof";
        case EVREQ_HTTP_INVALID_HEADER: return "invalid_header";
        case EVREQ_HTTP_BUFFER_ERROR: return "buffer_error";
        case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
        case EVREQ_HTTP_DATA_TOO_LONG: return "data_too_long";
    }
    return "exception";
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Timers with microsecond precision (timerfd): the default rounds epoll timeouts up to whole
// milliseconds, which would make constant-rate sends late and inflate the measured latency.
EventBasePtr new_precise_event_base() {
    using ConfigPtr = std::unique_ptr<event_config, FreeWith<event_config_free>>;
    ConfigPtr config(event_config_new());
    if (!config) return nullptr;
    event_config_set_flag(config.get(), EVENT_BASE_FLAG_PRECISE_TIMER);
    return EventBasePtr(event_base_new_with_config(config.get()));
}

}  // namespace

LoadRunner::LoadRunner(LoadPlan plan, Exchange& exchange)
    : plan_(std::move(plan)), exchange_(exchange), base_(new_precise_event_base()),
      uri_(evhttp_uri_parse(plan_.url.c_str())) {
    if (!base_) throw std::runtime_error("event_base_new_with_config failed");
    const char* scheme = uri_ ? evhttp_uri_get_scheme(uri_.get()) : nullptr;
    if (!uri_ || !evhttp_uri_get_host(uri_.get()) || !scheme || std::string_view(scheme) != "http")
        throw std::runtime_error("--url must be http://HOST:PORT/PATH");
    host_ = evhttp_uri_get_host(uri_.get());
    const int port = evhttp_uri_get_port(uri_.get());
    port_ = static_cast<uint16_t>(port < 0 ? 80 : port);
    const char* path = evhttp_uri_get_path(uri_.get());
    target_ = path && *path ? path : "/";
    if (const char* query = evhttp_uri_get_query(uri_.get())) target_ += std::string("?") + query;
    if (plan_.concurrency == 0) throw std::runtime_error("--concurrency must be at least 1");

    slots_.resize(plan_.concurrency);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        free_slots_.push_back(slots_.size() - 1 - i);
        if (plan_.keepalive) slots_[i].connection.reset(new_connection());
    }
    tick_.reset(evtimer_new(base_.get(), &LoadRunner::on_tick, this));
    kick_.reset(evtimer_new(base_.get(), &LoadRunner::on_kick, this));
}

evhttp_connection* LoadRunner::new_connection() {
    evhttp_connection* connection = evhttp_connection_base_new(base_.get(), nullptr, host_.c_str(), port_);
    if (!connection) throw std::runtime_error("evhttp_connection_base_new failed");
    const timeval timeout = to_timeval(std::chrono::milliseconds(plan_.timeout_ms));
    evhttp_connection_set_timeout_tv(connection, &timeout);
    evhttp_connection_set_retries(connection, 0);
    return connection;
}

double LoadRunner::run() {
    start_ = Clock::now();
    if (plan_.count > 0) {
        if (plan_.rate > 0)
            release_due_requests();
        else
            dispatch();
        event_base_dispatch(base_.get());
    }
    return std::chrono::duration<double>(Clock::now() - start_).count();
}

// Open loop: request i is due at start + i / rate, whether or not earlier ones have been answered.
void LoadRunner::release_due_requests() {
    const auto now = Clock::now();
    const auto due_at = [this](uint64_t index) {
        return start_ + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(index) / plan_.rate));
    };
    while (released_ < plan_.count && due_at(released_) <= now) {
        backlog_.push_back({released_, due_at(released_)});
        ++released_;
    }
    if (released_ < plan_.count) {
        const timeval wait =
            to_timeval(std::chrono::duration_cast<std::chrono::microseconds>(due_at(released_) - now));
        evtimer_add(tick_.get(), &wait);
    }
    dispatch();
}

void LoadRunner::dispatch() {
    while (!free_slots_.empty()) {
        if (backlog_head_ == backlog_.size() && plan_.rate <= 0 && released_ < plan_.count)
            backlog_.push_back({released_++, Clock::now()});  // closed loop: the next one is due now
        if (backlog_head_ == backlog_.size()) break;
        const Queued next = backlog_[backlog_head_++];
        const std::size_t slot = free_slots_.back();
        free_slots_.pop_back();
        send(slot, next);
    }
    if (backlog_head_ == backlog_.size()) {  // reclaim the FIFO's memory
        backlog_.clear();
        backlog_head_ = 0;
    }
}

void LoadRunner::send(std::size_t slot, Queued queued) {
    Flight& flight = slots_[slot].flight;
    flight = Flight{this, slot, queued.index, queued.intended, "", true};

    evhttp_request* request = evhttp_request_new(&LoadRunner::on_done, &flight);
    evhttp_request_set_error_cb(request, &LoadRunner::on_error);
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    const std::string host_header = host_ + ":" + std::to_string(port_);
    evhttp_add_header(headers, "Host", host_header.c_str());
    for (const auto& [name, value] : plan_.headers) evhttp_add_header(headers, name.c_str(), value.c_str());
    if (!plan_.keepalive) evhttp_add_header(headers, "Connection", "close");
    const std::string body = exchange_.body(queued.index);
    evbuffer_add(evhttp_request_get_output_buffer(request), body.data(), body.size());

    // Without keep-alive the slot's previous connection is freed here, outside any evhttp callback
    // (evhttp_connection_free_on_completion leaks connections that failed to connect in 2.1.12).
    if (!plan_.keepalive) slots_[slot].connection.reset(new_connection());
    const int sent = evhttp_make_request(slots_[slot].connection.get(), request, EVHTTP_REQ_POST, target_.c_str());
    if (sent != 0 && flight.active) {  // failed synchronously without calling back
        flight.error = "connect";
        finish(flight, nullptr);
    }
}

void LoadRunner::on_error(evhttp_request_error error, void* flight) {
    static_cast<Flight*>(flight)->error = error_kind(error);
}

void LoadRunner::on_done(evhttp_request* request, void* flight_pointer) {
    auto& flight = *static_cast<Flight*>(flight_pointer);
    flight.runner->finish(flight, request);
}

void LoadRunner::finish(Flight& flight, evhttp_request* request) {
    if (!flight.active) return;
    flight.active = false;
    const int status = request ? evhttp_request_get_response_code(request) : 0;
    if (status == 0) {
        exchange_.on_error(flight.index, flight.error.empty() ? "exception" : flight.error);
    } else {
        evbuffer* input = evhttp_request_get_input_buffer(request);
        const auto size = evbuffer_get_length(input);
        const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(input, -1));
        const std::string_view body(data ? data : "", size);
        exchange_.on_answer(flight.index, status, body, elapsed_ms(flight.intended));
    }
    free_slots_.push_back(flight.slot);
    if (++finished_ == plan_.count) {
        event_base_loopexit(base_.get(), nullptr);
        return;
    }
    // Sending from inside evhttp's callback is fine, but a synchronous failure must not recurse.
    const timeval now{0, 0};
    evtimer_add(kick_.get(), &now);
}

void LoadRunner::on_tick(evutil_socket_t, short, void* runner) {
    static_cast<LoadRunner*>(runner)->release_due_requests();
}
void LoadRunner::on_kick(evutil_socket_t, short, void* runner) { static_cast<LoadRunner*>(runner)->dispatch(); }

}  // namespace dance::peers
