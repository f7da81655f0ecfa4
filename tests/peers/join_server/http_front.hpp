// The join server's HTTP/1.1 side (libevent evhttp, keep-alive): routes POSTs to the JoinHandler,
// answers GET /health, records requests, and misbehaves on purpose when told to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "tests/peers/evhttp_handles.hpp"
#include "tests/peers/join_server/join_handler.hpp"
#include "tests/peers/join_server/request_recorder.hpp"

namespace dance::peers {

struct FailModes {
    int delay_ms = 0;            // answer this late (timer on the loop, never a sleep)
    bool close_without_answer = false;
};

class HttpFront {
public:
    HttpFront(event_base* base, JoinHandler& handler, RequestRecorder* recorder, FailModes fail_modes);
    ~HttpFront();
    HttpFront(const HttpFront&) = delete;
    HttpFront& operator=(const HttpFront&) = delete;

    // Returns the bound port (useful with port 0). Throws std::runtime_error.
    uint16_t listen(const std::string& host, uint16_t port);

private:
    struct DelayedReply {
        HttpFront* front;
        evhttp_request* request;
        HttpAnswer answer;
        EventPtr timer;
    };

    static void on_request(evhttp_request* request, void* self);
    static void on_delay_over(evutil_socket_t, short, void* delayed);
    void handle(evhttp_request* request);
    void record(evhttp_request* request, const std::string& message_type);
    void reply_later(evhttp_request* request, HttpAnswer answer);

    event_base* base_;
    JoinHandler& handler_;
    RequestRecorder* recorder_;
    FailModes fail_modes_;
    EvhttpPtr http_;
    std::unordered_map<DelayedReply*, std::unique_ptr<DelayedReply>> delayed_;
};

}  // namespace dance::peers
