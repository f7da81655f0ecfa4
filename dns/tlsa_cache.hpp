// Process-wide cache of TLSA lookup results, shared by every worker thread's resolver.
//
// Sharded by name hash, each shard with its own mutex and LRU lists, so cache hits on different names
// rarely contend. Also coordinates single-flight: while one lookup of a name is under way, later
// lookups of that name (from any thread) wait for its result instead of querying again.
//
// Negative answers (insecure, bogus, NXDOMAIN, NODATA) have their own LRU list, a quarter of each
// shard (at least one entry), and never evict a secure answer: a client under a wildcard allow entry
// can invent names without end, and their NXDOMAINs must not push real peers out of the cache.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "dns/lookup_result.hpp"

namespace dance::dns {

class TlsaCache {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;
    // Receives the result of a flight. Called on the thread that finishes the flight, outside any
    // cache lock: it must be thread-safe and cheap (typically posts to its own event loop).
    using Waiter = std::function<void(const TlsaResult&)>;

    explicit TlsaCache(const config::DnsCacheConfig& config, size_t shard_count = 16, Now now = Clock::now);
    TlsaCache(const TlsaCache&) = delete;
    TlsaCache& operator=(const TlsaCache&) = delete;

    // A fresh entry (from_cache set, ttl = seconds left, rounded up), or nothing.
    std::optional<TlsaResult> find(std::string_view name);

    // Stores by policy: secure for min(result.ttl, max_ttl_s); insecure, bogus, nxdomain and nodata for
    // negative_ttl_s; timeout and error never. Beyond a shard's bound a secure answer evicts the least
    // recently used negative answer, else the least recently used secure one; a negative answer evicts
    // only negative ones, and is not kept when secure answers fill the shard.
    void store(std::string_view name, const TlsaResult& result);

    enum class Role { cached, leader, follower };
    struct Admission {
        Role role;
        std::optional<TlsaResult> cached;  // only for Role::cached
    };
    // Atomically: a fresh entry is returned (the waiter is dropped); otherwise the waiter joins the
    // name's flight, and the first one to join is the leader, who must query and then call finish().
    Admission admit(std::string_view name, Waiter waiter);

    // Stores the result (by policy) and hands it to every waiter of the name's flight, with ttl set to
    // the cache lifetime (0 for timeout and error).
    void finish(std::string_view name, const TlsaResult& result);

    size_t size() const;
    size_t flights() const;
    // A secure answer not yet expired: an identity that can still be authenticated while the resolver is down.
    // Stops at the first one (readiness probes call it; scanning a full cache under its locks would not).
    bool has_fresh_secure_entry() const;

private:
    using Lru = std::list<std::string>;  // most recently used first
    struct Entry {
        TlsaResult result;
        Clock::time_point expires;
        bool negative;
        Lru::iterator lru_position;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, Entry> entries;  // secure_lru and negative_lru together
        Lru secure_lru;
        Lru negative_lru;
        std::unordered_map<std::string, std::vector<Waiter>> flights;

        Lru& lru_of(const Entry& entry) { return entry.negative ? negative_lru : secure_lru; }
        void erase(std::unordered_map<std::string, Entry>::iterator entry);
        void evict_oldest(Lru& lru);
    };

    Shard& shard_for(const std::string& key);
    std::optional<TlsaResult> find_locked(Shard& shard, const std::string& key, Clock::time_point now);
    void store_locked(Shard& shard, const std::string& key, const TlsaResult& result, Clock::time_point now);
    bool make_room_locked(Shard& shard, bool negative) const;
    std::optional<std::chrono::seconds> lifetime_of(const TlsaResult& result) const;

    config::DnsCacheConfig config_;
    size_t entries_per_shard_;
    size_t negative_entries_per_shard_;
    Now now_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace dance::dns
