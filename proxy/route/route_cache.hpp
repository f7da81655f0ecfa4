// Finished route walks of one worker, by destination (federation name and port) (docs/federation.md §5), with the lifetime rules of
// TLSA answers: a route that leads to a server is kept until the first of its records, signatures or its TLSA
// answer expires (never longer than the TLSA cache keeps that answer); a route the DNS refused (unknown
// receiver, no service, insecure, bogus) for negative_ttl_s; timeouts and errors are never kept. Bounded, least
// recently used out first. Single-threaded (one worker's loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "proxy/route/route_resolution.hpp"

namespace dance::proxy {

class RouteCache {
public:
    using Clock = std::chrono::steady_clock;

    RouteCache(std::size_t max_entries, std::uint32_t negative_ttl_s)
        : max_entries_(max_entries), negative_ttl_(negative_ttl_s) {}

    // `key`: the destination's (federation name and port).
    std::optional<ResolvedRoute> find(const std::string& key, Clock::time_point now);
    void store(const std::string& key, const ResolvedRoute& route, Clock::time_point now);
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string name;
        ResolvedRoute route;
        Clock::time_point valid_until;
    };
    using Lru = std::list<Entry>;  // most recently used first

    std::optional<Clock::time_point> lifetime_end(const ResolvedRoute& route, Clock::time_point now) const;

    std::size_t max_entries_;
    std::chrono::seconds negative_ttl_;
    Lru lru_;
    std::unordered_map<std::string, Lru::iterator> entries_;
};

}  // namespace dance::proxy
