#include "proxy/outbound/destination_pools.hpp"

#include <new>

namespace dance::proxy {

DestinationPools::DestinationPools(event_base* base, std::size_t max_destinations)
    : max_destinations_(max_destinations), dispose_event_(evtimer_new(base, &DestinationPools::on_dispose, this)) {
    if (!dispose_event_) throw std::bad_alloc();
}

void DestinationPools::forget_if_unused(const std::string& key) {
    auto found = pools_.find(key);
    if (found == pools_.end()) return;
    UpstreamPoolStats stats = found->second->pool->stats();
    if (stats.requests_in_flight != 0 || stats.idle_connections != 0) return;
    replace(found->second);
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

// Pools without connections go first (least recently used first): a flood of made-up destinations replaces
// its own kind before the warm pools of real partners. Busy pools never go.
bool DestinationPools::evict_one_idle_pool() {
    for (bool keep_warm : {true, false}) {
        for (auto entry = lru_.rbegin(); entry != lru_.rend(); ++entry) {
            UpstreamPoolStats stats = entry->pool->stats();
            if (stats.requests_in_flight != 0 || (keep_warm && stats.idle_connections != 0)) continue;
            replace(std::next(entry).base());
            ++evictions_;
            return true;
        }
    }
    return false;
}

void DestinationPools::replace(Lru::iterator position) {
    replaced_.push_back(std::move(position->pool));
    pools_.erase(position->key);
    lru_.erase(position);
    event_active(dispose_event_.get(), EV_TIMEOUT, 0);
}

void DestinationPools::on_dispose(evutil_socket_t, short, void* self) {
    static_cast<DestinationPools*>(self)->replaced_.clear();
}

void DestinationPools::retire_connections() {
    for (Entry& entry : lru_) entry.pool->retire_connections();
}

UpstreamPoolStats DestinationPools::stats() const {
    UpstreamPoolStats total;
    for (const Entry& entry : lru_) total += entry.pool->stats();
    return total;
}

}  // namespace dance::proxy
