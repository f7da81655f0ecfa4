// Periodic TCP reachability check of one backend, for /readyz. Runs on the caller's (main) loop.
#pragma once

#include <atomic>
#include <string>

#include "base/c_handles.hpp"
#include "config/config.hpp"

namespace dance::proxy {

class BackendProbe {
public:
    BackendProbe(event_base* base, config::HostPort backend, uint32_t interval_ms = 5000);
    ~BackendProbe();
    BackendProbe(const BackendProbe&) = delete;
    BackendProbe& operator=(const BackendProbe&) = delete;

    void start();
    bool reachable() const { return reachable_.load(); }
    const config::HostPort& backend() const { return backend_; }

private:
    void probe();
    static void on_timer(evutil_socket_t, short, void* self);
    static void on_event(bufferevent*, short what, void* self);

    event_base* base_;
    config::HostPort backend_;
    uint32_t interval_ms_;
    EventPtr timer_;
    BuffereventPtr attempt_;
    std::atomic<bool> reachable_{false};
};

}  // namespace dance::proxy
