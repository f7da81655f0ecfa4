#include "dns/tlsa_cache.hpp"

#include <algorithm>

#include "base/dns_name.hpp"

namespace dance::dns {

TlsaCache::TlsaCache(const config::DnsCacheConfig& config, size_t shard_count, Now now)
    : config_(config), now_(std::move(now)) {
    // Never more shards than entries, so the per-shard bounds add up to at most max_entries.
    shard_count = std::max<size_t>(1, std::min<size_t>(shard_count, config.max_entries));
    entries_per_shard_ = config.max_entries / shard_count;
    negative_entries_per_shard_ = entries_per_shard_ == 0 ? 0 : std::max<size_t>(1, entries_per_shard_ / 4);
    for (size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
}

void TlsaCache::Shard::erase(std::unordered_map<std::string, Entry>::iterator entry) {
    lru_of(entry->second).erase(entry->second.lru_position);
    entries.erase(entry);
}

void TlsaCache::Shard::evict_oldest(Lru& lru) {
    entries.erase(lru.back());
    lru.pop_back();
}

TlsaCache::Shard& TlsaCache::shard_for(const std::string& key) {
    return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

std::optional<std::chrono::seconds> TlsaCache::lifetime_of(const TlsaResult& result) const {
    switch (result.status) {
        case LookupStatus::secure:
            return std::chrono::seconds(std::min(result.ttl, config_.max_ttl_s));
        case LookupStatus::insecure:
        case LookupStatus::bogus:
        case LookupStatus::nxdomain:
        case LookupStatus::nodata:
            return std::chrono::seconds(config_.negative_ttl_s);
        case LookupStatus::timeout:
        case LookupStatus::error:
            break;
    }
    return std::nullopt;
}

std::optional<TlsaResult> TlsaCache::find_locked(Shard& shard, const std::string& key,
                                                 Clock::time_point now) {
    auto found = shard.entries.find(key);
    if (found == shard.entries.end()) return std::nullopt;
    Entry& entry = found->second;
    if (now >= entry.expires) {
        shard.erase(found);
        return std::nullopt;
    }
    Lru& lru = shard.lru_of(entry);
    lru.splice(lru.begin(), lru, entry.lru_position);
    TlsaResult result = entry.result;
    result.from_cache = true;
    auto left = std::chrono::ceil<std::chrono::seconds>(entry.expires - now);
    result.ttl = static_cast<uint32_t>(left.count());
    result.valid_until = entry.expires;
    return result;
}

// Secure answers take room from negative ones first: a negative answer is cheap to learn again and
// lives only negative_ttl_s, and every one of them may be a name a client invented.
bool TlsaCache::make_room_locked(Shard& shard, bool negative) const {
    if (!negative) {
        while (shard.entries.size() >= entries_per_shard_)
            shard.evict_oldest(shard.negative_lru.empty() ? shard.secure_lru : shard.negative_lru);
        return true;
    }
    auto full = [&] {
        return shard.negative_lru.size() >= negative_entries_per_shard_ || shard.entries.size() >= entries_per_shard_;
    };
    while (full() && !shard.negative_lru.empty()) shard.evict_oldest(shard.negative_lru);
    return !full();
}

void TlsaCache::store_locked(Shard& shard, const std::string& key, const TlsaResult& result,
                             Clock::time_point now) {
    auto lifetime = lifetime_of(result);
    if (!lifetime || lifetime->count() == 0 || entries_per_shard_ == 0) return;
    // The new answer replaces the old one, which may sit in the other LRU list.
    if (auto found = shard.entries.find(key); found != shard.entries.end()) shard.erase(found);
    bool negative = result.status != LookupStatus::secure;
    if (!make_room_locked(shard, negative)) return;
    TlsaResult stored = result;
    stored.from_cache = false;
    Lru& lru = negative ? shard.negative_lru : shard.secure_lru;
    lru.push_front(key);
    shard.entries.emplace(key, Entry{std::move(stored), now + *lifetime, negative, lru.begin()});
}

std::optional<TlsaResult> TlsaCache::find(std::string_view name) {
    std::string key = lower_case(name);
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    return find_locked(shard, key, now_());
}

void TlsaCache::store(std::string_view name, const TlsaResult& result) {
    std::string key = lower_case(name);
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    store_locked(shard, key, result, now_());
}

TlsaCache::Admission TlsaCache::admit(std::string_view name, Waiter waiter) {
    std::string key = lower_case(name);
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    if (auto hit = find_locked(shard, key, now_())) return {Role::cached, std::move(hit)};
    auto [flight, created] = shard.flights.try_emplace(key);
    flight->second.push_back(std::move(waiter));
    return {created ? Role::leader : Role::follower, std::nullopt};
}

void TlsaCache::finish(std::string_view name, const TlsaResult& result) {
    std::string key = lower_case(name);
    Shard& shard = shard_for(key);
    // Waiters see the lifetime the cache gives the answer (negative TTL, max_ttl_s clamp).
    TlsaResult delivered = result;
    Clock::time_point now = now_();
    if (auto lifetime = lifetime_of(result)) {
        delivered.ttl = static_cast<uint32_t>(lifetime->count());
        delivered.valid_until = now + *lifetime;
    }
    std::vector<Waiter> waiters;
    {
        std::lock_guard lock(shard.mutex);
        store_locked(shard, key, delivered, now);
        auto flight = shard.flights.find(key);
        if (flight != shard.flights.end()) {
            waiters = std::move(flight->second);
            shard.flights.erase(flight);
        }
    }
    for (auto& waiter : waiters) waiter(delivered);
}

size_t TlsaCache::size() const {
    size_t total = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        total += shard->entries.size();
    }
    return total;
}

bool TlsaCache::has_fresh_secure_entry() const {
    Clock::time_point now = now_();
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        for (const std::string& key : shard->secure_lru) {
            auto entry = shard->entries.find(key);
            if (entry != shard->entries.end() && entry->second.expires > now) return true;
        }
    }
    return false;
}

size_t TlsaCache::flights() const {
    size_t total = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        total += shard->flights.size();
    }
    return total;
}

}  // namespace dance::dns
