// The admin HTTP endpoint: GET /metrics, /healthz, /readyz. Runs on its own thread with its own libevent
// base, so a slow scraper never touches the proxy's event loops.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "proxy/observe/metrics.hpp"

namespace dance::proxy {

// Runs on the admin thread on every GET /readyz: must be cheap and non-blocking (read atomics the
// workers update). Returns true when ready; otherwise sets why (short, no secrets).
using ReadinessCheck = std::function<bool(std::string& why)>;

class AdminServer {
public:
    AdminServer(const config::HostPort& listen, Metrics& metrics);
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;
    ~AdminServer();  // stop()

    // May be called before or after start(), from any thread.
    void add_readiness_check(std::string name, ReadinessCheck check);

    // Binds (synchronously, on the calling thread) and starts the server thread. False + error when the
    // address cannot be bound or start() was already called.
    bool start(std::string& error);
    bool start();  // same, error discarded

    void stop();  // idempotent; joins the server thread

    uint16_t port() const { return bound_port_.load(); }  // the actual port (listen port 0 = any free)

private:
    struct Loop;  // the libevent handles, owned by the server thread's lifetime

    void serve();

    config::HostPort listen_;
    Metrics& metrics_;
    std::mutex checks_mutex_;
    std::vector<std::pair<std::string, ReadinessCheck>> checks_;
    std::unique_ptr<Loop> loop_;
    std::thread thread_;
    std::atomic<uint16_t> bound_port_{0};

    friend struct AdminRequestHandlers;
};

}  // namespace dance::proxy
