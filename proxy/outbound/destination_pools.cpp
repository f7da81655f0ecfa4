#include "proxy/outbound/destination_pools.hpp"

#include <new>

namespace dance::proxy {

DestinationPools::DestinationPools(event_base* base, std::size_t max_destinations)
    : max_destinations_(max_destinations), dispose_event_(evtimer_new(base, &DestinationPools::on_dispose, this)) {
    if (!dispose_event_) throw std::bad_alloc();
}

UpstreamPool* DestinationPools::pool_for(const std::string& key, const PoolFactory& make) {
    if (auto found = pools_.find(key); found != pools_.end()) {
        lru_.splice(lru_.begin(), lru_, found->second);
        return found->second->pool.get();
    }
    while (pools_.size() >= max_destinations_) {
        if (!evict_one_idle_pool()) return nullptr;
    }
    lru_.push_front({key, make()});
    pools_.emplace(key, lru_.begin());
    return lru_.front().pool.get();
}

bool DestinationPools::evict_one_idle_pool() {
    for (auto entry = lru_.rbegin(); entry != lru_.rend(); ++entry) {
        if (entry->pool->stats().requests_in_flight != 0) continue;
        auto position = std::next(entry).base();
        replaced_.push_back(std::move(position->pool));
        pools_.erase(position->key);
        lru_.erase(position);
        ++evictions_;
        event_active(dispose_event_.get(), EV_TIMEOUT, 0);
        return true;
    }
    return false;
}

void DestinationPools::on_dispose(evutil_socket_t, short, void* self) {
    static_cast<DestinationPools*>(self)->replaced_.clear();
}

void DestinationPools::retire_connections() {
    for (Entry& entry : lru_) entry.pool->retire_connections();
}

void DestinationPools::close_all() {
    pools_.clear();
    lru_.clear();
    replaced_.clear();
}

UpstreamPoolStats DestinationPools::stats() const {
    UpstreamPoolStats total;
    for (const Entry& entry : lru_) {
        UpstreamPoolStats one = entry.pool->stats();
        total.requests += one.requests;
        total.responses += one.responses;
        total.failures += one.failures;
        total.connections_opened += one.connections_opened;
        total.connect_failures += one.connect_failures;
        total.reuses += one.reuses;
        total.retries += one.retries;
        total.idle_closed += one.idle_closed;
        total.idle_connections += one.idle_connections;
        total.requests_in_flight += one.requests_in_flight;
    }
    return total;
}

}  // namespace dance::proxy
