// One event-loop thread: its own event_base, resolver and a listener per configured listener (SO_REUSEPORT).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns/tlsa_cache.hpp"
#include "dns/tlsa_resolver.hpp"
#include "proxy/http/shared_byte_budget.hpp"
#include "proxy/inbound/inbound_settings.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/outbound/outbound_settings.hpp"

namespace dance::proxy {

// What all workers share, owned by the Sidecar.
struct InboundShared {
    std::unique_ptr<SettingsSlot<InboundSettings>> settings;
    ListenerMetrics* metrics;
    std::atomic<uint32_t> open_connections{0};
    SharedByteBudget unauthenticated_bytes;  // see InboundListener
};
struct OutboundShared {
    std::unique_ptr<SettingsSlot<OutboundSettings>> settings;
    ListenerMetrics* metrics;
};
struct SharedRuntime {
    config::DnsConfig dns;
    std::shared_ptr<dns::TlsaCache> cache;
    dns::LookupObserver* observer = nullptr;
    std::vector<std::unique_ptr<InboundShared>> inbound;
    std::vector<std::unique_ptr<OutboundShared>> outbound;
};

class Worker {
public:
    Worker(size_t index, SharedRuntime& shared);
    ~Worker();  // stops and joins
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Starts the thread; returns once every listener is bound (true) or something failed (false + error).
    bool start(std::string& error);
    void stop_accepting();
    // Closes idle connections and ends keep-alive on busy ones; remaining() then tells how many still carry
    // requests.
    void drain_connections();
    size_t remaining() const { return remaining_.load(); }
    void stop();

private:
    struct Loop;
    void run(std::promise<std::string> started);
    void post(std::function<void(Loop&)> task);

    size_t index_;
    SharedRuntime& shared_;
    std::thread thread_;
    std::atomic<size_t> remaining_{0};
    std::shared_ptr<void> mailbox_;  // dance::LoopMailbox, set by the worker thread
    std::mutex mailbox_mutex_;
    Loop* loop_ = nullptr;  // owned by the worker thread
};

}  // namespace dance::proxy
