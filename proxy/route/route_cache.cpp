#include "proxy/route/route_cache.hpp"

#include <algorithm>

namespace dance::proxy {

std::optional<ResolvedRoute> RouteCache::find(const std::string& name, Clock::time_point now) {
    auto found = entries_.find(name);
    if (found == entries_.end()) return std::nullopt;
    if (found->second->valid_until <= now) {
        lru_.erase(found->second);
        entries_.erase(found);
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, found->second);
    return found->second->route;
}

void RouteCache::store(const std::string& name, const ResolvedRoute& route, Clock::time_point now) {
    auto until = lifetime_end(route, now);
    if (!until || *until <= now || max_entries_ == 0) return;
    if (auto found = entries_.find(name); found != entries_.end()) {
        lru_.erase(found->second);
        entries_.erase(found);
    }
    while (entries_.size() >= max_entries_) {
        entries_.erase(lru_.back().name);
        lru_.pop_back();
    }
    lru_.push_front({name, route, *until});
    entries_.emplace(name, lru_.begin());
}

std::optional<RouteCache::Clock::time_point> RouteCache::lifetime_end(const ResolvedRoute& route,
                                                                      Clock::time_point now) const {
    if (!route.failure.empty()) {
        bool proven = route.failure == "unknown_receiver" || route.failure == "no_service" ||
                      route.failure == "insecure" || route.failure == "bogus";
        if (!proven) return std::nullopt;
        return now + negative_ttl_;
    }
    // The TLSA answer's own lifetime, as the shared TLSA cache keeps it; an answer it does not keep (unset)
    // keeps no route either.
    if (route.tlsa.valid_until == Clock::time_point{}) return std::nullopt;
    return std::min(now + std::chrono::seconds(route.ttl), route.tlsa.valid_until);
}

}  // namespace dance::proxy
