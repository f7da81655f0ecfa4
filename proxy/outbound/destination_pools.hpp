// A routing outbound listener's upstream pools, one per destination (host and port), at most
// `max_destinations` alive: a new destination beyond that replaces the least recently used pool that has no
// request in flight (one without connections first), or is refused when every pool is busy. Replaced pools are destroyed from the loop, never
// inside a call that may come from one of their own callbacks. Single-threaded (one worker's loop).
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/c_handles.hpp"
#include "proxy/upstream/upstream_pool.hpp"

namespace dance::proxy {

class DestinationPools {
public:
    using PoolFactory = std::function<std::unique_ptr<UpstreamPool>()>;

    DestinationPools(event_base* base, std::size_t max_destinations);
    DestinationPools(const DestinationPools&) = delete;
    DestinationPools& operator=(const DestinationPools&) = delete;

    // The pool of `key`, made by `make` if there is none; nullptr when the bound is reached and every pool
    // has a request in flight.
    UpstreamPool* pool_for(const std::string& key, const PoolFactory& make);

    void set_max_destinations(std::size_t max_destinations) { max_destinations_ = max_destinations; }
    void retire_connections();  // see UpstreamPool::retire_connections()
    // Drops the pool of `key` if it has neither a request in flight nor a connection (its route failed).
    void forget_if_unused(const std::string& key);
    std::size_t size() const { return pools_.size(); }
    std::uint64_t evictions() const { return evictions_; }
    UpstreamPoolStats stats() const;  // summed over the pools

private:
    struct Entry {
        std::string key;
        std::unique_ptr<UpstreamPool> pool;
    };
    using Lru = std::list<Entry>;  // most recently used first

    bool evict_one_idle_pool();
    void replace(Lru::iterator position);
    static void on_dispose(evutil_socket_t, short, void* self);

    std::size_t max_destinations_;
    Lru lru_;
    std::unordered_map<std::string, Lru::iterator> pools_;
    std::vector<std::unique_ptr<UpstreamPool>> replaced_;  // destroyed by dispose_event_
    EventPtr dispose_event_;
    std::uint64_t evictions_ = 0;
};

}  // namespace dance::proxy
