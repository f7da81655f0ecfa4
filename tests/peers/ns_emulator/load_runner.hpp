// Drives HTTP/1.1 POSTs with libevent's evhttp client: closed-loop (as fast as answers come back, at most
// `concurrency` in flight) or open-loop at a constant rate, where latency counts from each request's
// intended send time so a slow server cannot hide its queueing (no coordinated omission).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/peers/evhttp_handles.hpp"

namespace dance::peers {

struct LoadPlan {
    std::string url;  // http://host:port/path; host should be an IP literal (resolution would block)
    uint64_t count = 1;
    unsigned concurrency = 1;
    bool keepalive = false;  // else one connection per request, with "Connection: close"
    double rate = 0;         // requests per second; 0 = closed loop
    int timeout_ms = 5000;   // ChirpStack v4's HTTP timeout
    std::vector<std::pair<std::string, std::string>> headers;
};

// What each request carries and where its outcome goes; indexes run from 0 to count - 1.
class Exchange {
public:
    virtual ~Exchange() = default;
    virtual std::string body(uint64_t index) = 0;
    virtual void on_answer(uint64_t index, int http_status, std::string_view body, double latency_ms) = 0;
    virtual void on_error(uint64_t index, const std::string& kind) = 0;
};

class LoadRunner {
public:
    LoadRunner(LoadPlan plan, Exchange& exchange);  // throws std::runtime_error on a bad URL
    double run();                                   // returns the wall time in seconds

private:
    using Clock = std::chrono::steady_clock;
    struct Flight {
        LoadRunner* runner = nullptr;
        std::size_t slot = 0;
        uint64_t index = 0;
        Clock::time_point intended;
        std::string error;  // set by the error callback, read by the completion callback
        bool active = false;
    };
    struct Slot {
        EvhttpConnectionPtr connection;  // with keep-alive for the whole run, else for one request
        Flight flight;
    };
    struct Queued {
        uint64_t index;
        Clock::time_point intended;
    };

    static void on_done(evhttp_request* request, void* flight);
    static void on_error(evhttp_request_error error, void* flight);
    static void on_tick(evutil_socket_t, short, void* runner);
    static void on_kick(evutil_socket_t, short, void* runner);
    void finish(Flight& flight, evhttp_request* request);
    void release_due_requests();
    void dispatch();
    void send(std::size_t slot, Queued queued);
    evhttp_connection* new_connection();

    LoadPlan plan_;
    Exchange& exchange_;
    EventBasePtr base_;
    EvhttpUriPtr uri_;
    std::string host_;
    uint16_t port_ = 0;
    std::string target_;  // path and query
    std::vector<Slot> slots_;
    std::vector<std::size_t> free_slots_;
    std::vector<Queued> backlog_;  // used as a FIFO from backlog_head_
    std::size_t backlog_head_ = 0;
    uint64_t released_ = 0;
    uint64_t finished_ = 0;
    Clock::time_point start_;
    EventPtr tick_;
    EventPtr kick_;
};

}  // namespace dance::peers
