// TlsaCache alone: lifetimes, LRU bounds (negative answers apart), single-flight, concurrency. No network.
#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <thread>

#include "dns/tlsa_cache.hpp"

using namespace dance::dns;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
    TlsaCache::Clock::time_point now{};
    TlsaCache::Now function() {
        return [this] { return now; };
    }
};

TlsaResult secure(uint32_t ttl, uint8_t first_byte = 0xab) {
    TlsaResult result;
    result.status = LookupStatus::secure;
    result.ttl = ttl;
    result.records.push_back(TlsaRecord{3, 1, 1, std::vector<uint8_t>(32, first_byte)});
    return result;
}

TlsaResult with_status(LookupStatus status) {
    TlsaResult result;
    result.status = status;
    return result;
}

dance::config::DnsCacheConfig cache_config(uint32_t max_entries = 100, uint32_t max_ttl = 3600, uint32_t negative = 30) {
    dance::config::DnsCacheConfig config;
    config.max_entries = max_entries;
    config.max_ttl_s = max_ttl;
    config.negative_ttl_s = negative;
    return config;
}

}  // namespace

TEST_CASE("a secure answer lives for its TTL, clamped to max_ttl_s") {
    FakeClock clock;
    TlsaCache cache(cache_config(100, 60), 4, clock.function());
    cache.store("A.Example.TEST", secure(300));
    auto hit = cache.find("a.example.test");
    REQUIRE(hit);
    CHECK(hit->from_cache);
    CHECK(hit->ttl == 60);
    CHECK(hit->records == secure(1).records);
    clock.now += 59s;
    REQUIRE(cache.find("a.example.test"));
    CHECK(cache.find("a.example.test")->ttl == 1);
    clock.now += 1s;
    CHECK_FALSE(cache.find("a.example.test"));
    CHECK(cache.size() == 0);
}

TEST_CASE("a short TTL expires on time and a zero TTL is not stored") {
    FakeClock clock;
    TlsaCache cache(cache_config(), 4, clock.function());
    cache.store("short.test", secure(2));
    cache.store("zero.test", secure(0));
    CHECK_FALSE(cache.find("zero.test"));
    clock.now += 1999ms;
    CHECK(cache.find("short.test"));
    clock.now += 1ms;
    CHECK_FALSE(cache.find("short.test"));
}

TEST_CASE("valid_until is the exact end of the cache lifetime, where ttl is rounded up") {
    FakeClock clock;
    clock.now += 1000s;
    TlsaCache cache(cache_config(100, 60), 4, clock.function());
    auto admission = cache.admit("a.example.test", [](const TlsaResult&) {});
    REQUIRE(admission.role == TlsaCache::Role::leader);
    std::optional<TlsaResult> delivered;
    cache.admit("a.example.test", [&](const TlsaResult& result) { delivered = result; });
    cache.finish("a.example.test", secure(300));
    REQUIRE(delivered);
    CHECK(delivered->valid_until == clock.now + 60s);
    clock.now += 59995ms;  // 5 ms left: a connection may rely on the answer for those 5 ms, not for a second
    auto hit = cache.find("a.example.test");
    REQUIRE(hit);
    CHECK(hit->ttl == 1);
    CHECK(hit->valid_until == clock.now + 5ms);
    CHECK(cache.admit("b.example.test", [](const TlsaResult&) {}).role == TlsaCache::Role::leader);
    cache.finish("b.example.test", with_status(LookupStatus::timeout));  // not kept: no lifetime at all
    CHECK_FALSE(cache.find("b.example.test"));
}

TEST_CASE("negative answers live for negative_ttl_s, timeouts and errors are never stored") {
    FakeClock clock;
    TlsaCache cache(cache_config(100, 3600, 5), 4, clock.function());
    for (auto status : {LookupStatus::insecure, LookupStatus::bogus, LookupStatus::nxdomain, LookupStatus::nodata}) {
        std::string name = std::string(to_string(status)) + ".test";
        TlsaResult negative = with_status(status);
        negative.ttl = 99999;  // the record TTL does not matter for negative answers
        cache.store(name, negative);
        auto hit = cache.find(name);
        REQUIRE(hit);
        CHECK(hit->status == status);
        CHECK(hit->ttl == 5);
    }
    cache.store("timeout.test", with_status(LookupStatus::timeout));
    cache.store("error.test", with_status(LookupStatus::error));
    CHECK_FALSE(cache.find("timeout.test"));
    CHECK_FALSE(cache.find("error.test"));
    clock.now += 5s;
    CHECK_FALSE(cache.find("bogus.test"));
}

TEST_CASE("LRU eviction keeps the most recently used entries within max_entries") {
    FakeClock clock;
    TlsaCache cache(cache_config(3), 1, clock.function());
    cache.store("one.test", secure(300));
    cache.store("two.test", secure(300));
    cache.store("three.test", secure(300));
    REQUIRE(cache.find("one.test"));  // now the most recently used
    cache.store("four.test", secure(300));
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.find("two.test"));
    CHECK(cache.find("one.test"));
    CHECK(cache.find("three.test"));
    CHECK(cache.find("four.test"));
}

TEST_CASE("distinct negative answers without end never evict a secure answer") {
    // A client under a wildcard allow entry invents names; each one ends as NXDOMAIN (or bogus, ...).
    for (size_t shards : {size_t{1}, size_t{16}}) {
        CAPTURE(shards);
        TlsaCache cache(cache_config(1600), shards);
        for (int i = 0; i < 200; ++i) cache.store("peer" + std::to_string(i) + ".test", secure(300));
        for (int i = 0; i < 20000; ++i) {
            auto status = i % 2 ? LookupStatus::nxdomain : LookupStatus::bogus;
            cache.store("invented" + std::to_string(i) + ".wild.test", with_status(status));
        }
        int peers_cached = 0;
        for (int i = 0; i < 200; ++i) peers_cached += cache.find("peer" + std::to_string(i) + ".test") ? 1 : 0;
        CHECK(peers_cached == 200);
        CHECK(cache.size() <= 200 + 1600 / 4);
        CHECK(cache.find("invented19999.wild.test"));  // still cached, just bounded
    }
}

TEST_CASE("negative answers are bounded to a quarter of the cache, least recently used out first") {
    FakeClock clock;
    TlsaCache cache(cache_config(40), 1, clock.function());
    for (int i = 0; i < 10; ++i) cache.store("n" + std::to_string(i) + ".test", with_status(LookupStatus::nxdomain));
    CHECK(cache.size() == 10);
    REQUIRE(cache.find("n0.test"));  // now the most recently used negative answer
    cache.store("n10.test", with_status(LookupStatus::nodata));
    CHECK(cache.size() == 10);
    CHECK(cache.find("n0.test"));
    CHECK_FALSE(cache.find("n1.test"));
    CHECK(cache.find("n10.test"));
    CHECK(cache.find("n10.test")->status == LookupStatus::nodata);
}

TEST_CASE("a full shard: secure answers take the room of negative ones first, then of older secure ones") {
    TlsaCache cache(cache_config(8), 1);  // 8 entries, at most 2 negative
    cache.store("bad1.test", with_status(LookupStatus::insecure));
    cache.store("bad2.test", with_status(LookupStatus::nxdomain));
    for (int i = 1; i <= 6; ++i) cache.store("s" + std::to_string(i) + ".test", secure(300));
    CHECK(cache.size() == 8);
    cache.store("s7.test", secure(300));
    CHECK_FALSE(cache.find("bad1.test"));
    CHECK(cache.find("bad2.test"));
    cache.store("s8.test", secure(300));
    CHECK_FALSE(cache.find("bad2.test"));
    REQUIRE(cache.find("s1.test"));  // now the most recently used secure answer
    cache.store("s9.test", secure(300));
    CHECK(cache.size() == 8);
    CHECK_FALSE(cache.find("s2.test"));
    for (int i : {1, 3, 4, 5, 6, 7, 8, 9}) CHECK(cache.find("s" + std::to_string(i) + ".test"));
    cache.store("bad3.test", with_status(LookupStatus::bogus));  // no room that is not secure: not kept
    CHECK_FALSE(cache.find("bad3.test"));
    CHECK(cache.size() == 8);
}

TEST_CASE("a name's new answer replaces its old one, secure or negative") {
    TlsaCache cache(cache_config(8), 1);
    cache.store("flip.test", secure(300));
    cache.store("flip.test", with_status(LookupStatus::bogus));
    CHECK(cache.find("flip.test")->status == LookupStatus::bogus);
    cache.store("flip.test", secure(300, 0xcd));
    REQUIRE(cache.find("flip.test"));
    CHECK(cache.find("flip.test")->records == secure(1, 0xcd).records);
    CHECK(cache.size() == 1);
}

TEST_CASE("the bound holds across shards and max_entries 0 disables caching") {
    TlsaCache cache(cache_config(10), 16);
    for (int i = 0; i < 1000; ++i) cache.store("name" + std::to_string(i) + ".test", secure(300));
    CHECK(cache.size() <= 10);
    CHECK(cache.size() > 0);
    TlsaCache disabled(cache_config(0));
    disabled.store("a.test", secure(300));
    CHECK(disabled.size() == 0);
}

TEST_CASE("single-flight: one leader, followers get the leader's result, then the cache answers") {
    TlsaCache cache(cache_config());
    std::vector<TlsaResult> received;
    auto collect = [&](const TlsaResult& result) { received.push_back(result); };
    CHECK(cache.admit("Flight.test", collect).role == TlsaCache::Role::leader);
    CHECK(cache.admit("flight.TEST", collect).role == TlsaCache::Role::follower);
    CHECK(cache.admit("flight.test", collect).role == TlsaCache::Role::follower);
    CHECK(cache.flights() == 1);
    cache.finish("flight.test", secure(300));
    REQUIRE(received.size() == 3);
    for (const auto& result : received) CHECK(result.status == LookupStatus::secure);
    CHECK(cache.flights() == 0);
    auto admission = cache.admit("flight.test", collect);
    CHECK(admission.role == TlsaCache::Role::cached);
    REQUIRE(admission.cached);
    CHECK(admission.cached->from_cache);
    CHECK(received.size() == 3);  // a cached admission drops its waiter
}

TEST_CASE("single-flight: an uncacheable result still wakes every waiter and the next admit leads again") {
    TlsaCache cache(cache_config(100, 3600, 7));
    int woken = 0;
    uint32_t ttl_seen = 1;
    auto count = [&](const TlsaResult& result) {
        ++woken;
        ttl_seen = result.ttl;
    };
    cache.admit("t.test", count);
    cache.admit("t.test", count);
    cache.finish("t.test", with_status(LookupStatus::timeout));
    CHECK(woken == 2);
    CHECK(cache.admit("t.test", count).role == TlsaCache::Role::leader);
    cache.finish("t.test", with_status(LookupStatus::nxdomain));
    CHECK(ttl_seen == 7);  // waiters see the negative lifetime
}

TEST_CASE("concurrent admits from many threads elect exactly one leader per name") {
    TlsaCache cache(cache_config(), 8);
    std::atomic<int> leaders{0};
    std::atomic<int> woken{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                auto admission = cache.admit("n" + std::to_string(i % 10) + ".test", [&](const TlsaResult&) { ++woken; });
                if (admission.role == TlsaCache::Role::leader) ++leaders;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(leaders == 10);
    for (int i = 0; i < 10; ++i) cache.finish("n" + std::to_string(i) + ".test", secure(300));
    CHECK(woken == 8 * 200);
    CHECK(cache.size() == 10);
}

TEST_CASE("a fresh secure entry: found until the last one expires, negative answers never") {
    FakeClock clock;
    TlsaCache cache(cache_config(), 4, clock.function());
    CHECK_FALSE(cache.has_fresh_secure_entry());
    cache.store("missing.test", with_status(LookupStatus::nxdomain));
    cache.store("bogus.test", with_status(LookupStatus::bogus));
    CHECK_FALSE(cache.has_fresh_secure_entry());
    cache.store("long.test", secure(60));
    cache.store("short.test", secure(5));
    CHECK(cache.has_fresh_secure_entry());
    clock.now += 5s;
    CHECK(cache.has_fresh_secure_entry());  // the short one expired, the long one is left
    clock.now += 55s;
    CHECK_FALSE(cache.has_fresh_secure_entry());  // expired, not yet looked up: not counted
}
