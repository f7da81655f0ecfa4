// The resolver against the real DNS lab (nsd + validating unbound on loopback, or a private root in a
// network namespace for recursive mode). Run through run-with-lab.sh.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <thread>
#include <unordered_map>

#include "dns/make_resolver.hpp"
#include "event_loop.hpp"
#include "lab_env.hpp"

using namespace dance::dns;
using namespace std::chrono_literals;
using dance::config::DnsConfig;
using dance::config::DnsMode;
using test::lab;

namespace {

struct Harness {
    explicit Harness(const DnsConfig& config, std::shared_ptr<TlsaCache> shared = nullptr,
                     LookupObserver* observer = nullptr)
        : cache(shared ? std::move(shared) : std::make_shared<TlsaCache>(config.cache)),
          resolver(make_resolver(loop.base(), config, cache, observer)) {}

    TlsaResult lookup(const std::string& name) {
        std::optional<TlsaResult> result;
        auto pending = resolver->lookup_tlsa(name, [&](const TlsaResult& answer) { result = answer; });
        REQUIRE(loop.run_until([&] { return result.has_value(); }));
        return *result;
    }

    test::EventLoop loop;
    std::shared_ptr<TlsaCache> cache;
    std::unique_ptr<TlsaResolver> resolver;
};

// A UDP socket that receives queries and never answers; closed on destruction.
struct SilentServer {
    SilentServer(int type = SOCK_DGRAM) {
        fd = socket(AF_INET, type, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        socklen_t length = sizeof address;
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
        port = ntohs(address.sin_port);
        if (type == SOCK_STREAM) {
            listen(fd, 64);
            fcntl(fd, F_SETFL, O_NONBLOCK);
        }
    }
    ~SilentServer() { close(fd); }
    int fd;
    uint16_t port;
};

uint16_t closed_port() {
    SilentServer probe;
    return probe.port;  // closed again when probe goes away
}

DnsConfig pointing_at(DnsMode mode, uint16_t port, uint32_t timeout_ms) {
    DnsConfig config = test::lab_config(mode);
    config.timeout_ms = timeout_ms;
    config.resolvers = {{"127.0.0.1", port}};
    return config;
}

// Forwards UDP DNS between the resolver under test and unbound, dropping every Nth packet (both
// directions counted together): the lossy upstream that broke getdns 1.6's own validation in the notes.
class LossyForwarder {
public:
    LossyForwarder(uint16_t upstream_port, int drop_every) : drop_every_(drop_every) {
        upstream_.sin_family = AF_INET;
        upstream_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        upstream_.sin_port = htons(upstream_port);
        outbound_fd_ = socket(AF_INET, SOCK_DGRAM, 0);
        thread_ = std::thread([this] { forward(); });
    }
    ~LossyForwarder() {
        stop_ = true;
        thread_.join();
        close(outbound_fd_);
    }
    uint16_t port() const { return listener_.port; }
    int dropped() const { return dropped_; }

private:
    void forward() {
        std::unordered_map<uint16_t, sockaddr_in> clients;  // by DNS message id
        pollfd fds[2] = {{listener_.fd, POLLIN, 0}, {outbound_fd_, POLLIN, 0}};
        uint8_t buffer[65536];
        int packets = 0;
        while (!stop_) {
            if (poll(fds, 2, 10) <= 0) continue;
            for (int side = 0; side < 2; ++side) {
                if (!(fds[side].revents & POLLIN)) continue;
                sockaddr_in from{};
                socklen_t length = sizeof from;
                ssize_t size = recvfrom(fds[side].fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
                if (size < 12) continue;
                uint16_t id = static_cast<uint16_t>(buffer[0] << 8 | buffer[1]);
                if (++packets % drop_every_ == 0) {
                    ++dropped_;
                    continue;
                }
                if (side == 0) {
                    clients[id] = from;
                    sendto(outbound_fd_, buffer, size, 0, reinterpret_cast<sockaddr*>(&upstream_), sizeof upstream_);
                } else if (auto client = clients.find(id); client != clients.end()) {
                    sendto(listener_.fd, buffer, size, 0, reinterpret_cast<sockaddr*>(&client->second), sizeof client->second);
                }
            }
        }
    }

    int drop_every_;
    SilentServer listener_;
    sockaddr_in upstream_{};
    int outbound_fd_;
    std::atomic<bool> stop_{false};
    std::atomic<int> dropped_{0};
    std::thread thread_;
};

struct CountingObserver : LookupObserver {
    void on_tlsa_lookup(LookupStatus, bool cache_hit, double seconds) override {
        ++(cache_hit ? hits : misses);
        total_seconds += seconds;
    }
    int hits = 0;
    int misses = 0;
    double total_seconds = 0;
};

}  // namespace

TEST_CASE("every status in every mode") {
    const std::vector<std::pair<std::string, LookupStatus>> expected = {
        {lab("NAME_NS_A"), LookupStatus::secure},         {lab("NAME_BOGUS_RDATA"), LookupStatus::bogus},
        {lab("NAME_BOGUS_SIG"), LookupStatus::bogus},     {lab("NAME_EXPIRED"), LookupStatus::bogus},
        {lab("NAME_NODATA"), LookupStatus::nodata},       {lab("NAME_NXDOMAIN"), LookupStatus::nxdomain},
        {lab("NAME_INSECURE"), LookupStatus::insecure},
    };
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        for (const auto& [name, status] : expected) {
            CAPTURE(name);
            TlsaResult result = harness.lookup(name);
            CAPTURE(result.detail);
            CHECK(to_string(result.status) == to_string(status));
            CHECK_FALSE(result.from_cache);
            if (status == LookupStatus::secure) {
                REQUIRE(result.records.size() == 1);
                CHECK(result.records[0].to_string() == lab("TLSA_NS_A"));
                CHECK(result.ttl > 0);
                CHECK(result.ttl <= 300);
                CHECK(result.authenticates());
            } else {
                CHECK(result.records.empty());
                CHECK(result.ttl == 30);  // negative_ttl_s default
            }
        }
        // Upper case is the same name (and answered from the cache).
        std::string upper_name = lab("NAME_NS_A");
        for (char& c : upper_name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        TlsaResult upper = harness.lookup(upper_name);
        CHECK(upper.status == LookupStatus::secure);
        CHECK(upper.from_cache);
        CHECK(harness.cache->size() == expected.size());
    }
}

TEST_CASE("a second lookup is answered from the cache and sends no query") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        CountingObserver observer;
        Harness harness(test::lab_config(mode), nullptr, &observer);
        TlsaResult first = harness.lookup(lab("NAME_NS_B"));
        REQUIRE(first.status == LookupStatus::secure);
        long before = mode == DnsMode::recursive ? 0 : test::unbound_queries();
        TlsaResult second = harness.lookup(lab("NAME_NS_B"));
        CHECK(second.from_cache);
        CHECK(second.records == first.records);
        if (mode != DnsMode::recursive) CHECK(test::unbound_queries() == before);
        auto probe = harness.resolver->cached_tlsa(lab("NAME_NS_B"));
        REQUIRE(probe);
        CHECK(probe->status == LookupStatus::secure);
        CHECK_FALSE(harness.resolver->cached_tlsa(lab("NAME_C301")));
        CHECK(observer.misses == 1);
        CHECK(observer.hits == 2);
    }
}

TEST_CASE("the 2 s TTL of changing.<zone> expires and the name is queried again") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        // Upstream caches count the TTL down; wait for an answer that has all of its 2 s left.
        TlsaResult first;
        for (int attempt = 0; attempt < 10; ++attempt) {
            first = harness.lookup(lab("NAME_CHANGING"));
            if (first.ttl == 2) break;
            harness.loop.run_for(500ms);
        }
        REQUIRE(first.status == LookupStatus::secure);
        REQUIRE(first.ttl == 2);
        CHECK(harness.lookup(lab("NAME_CHANGING")).from_cache);
        harness.loop.run_for(2500ms);
        CHECK_FALSE(harness.resolver->cached_tlsa(lab("NAME_CHANGING")));
        long before = mode == DnsMode::trust_ad ? test::unbound_queries() : 0;
        TlsaResult third = harness.lookup(lab("NAME_CHANGING"));
        CHECK(third.status == LookupStatus::secure);
        CHECK_FALSE(third.from_cache);
        if (mode == DnsMode::trust_ad) CHECK(test::unbound_queries() == before + 1);
    }
}

TEST_CASE("100 concurrent lookups of one name make one upstream query") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        long before = mode == DnsMode::recursive ? 0 : test::unbound_queries();
        int secure = 0;
        int done = 0;
        std::vector<PendingLookupPtr> pending;
        for (int i = 0; i < 100; ++i) {
            pending.push_back(harness.resolver->lookup_tlsa(lab("NAME_DEVICE"), [&](const TlsaResult& result) {
                ++done;
                if (result.status == LookupStatus::secure) ++secure;
            }));
        }
        CHECK(done == 0);  // never called back from inside lookup_tlsa
        REQUIRE(harness.loop.run_until([&] { return done == 100; }));
        CHECK(secure == 100);
        long queries = mode == DnsMode::recursive ? 0 : test::unbound_queries() - before;
        // trust-ad sends exactly the TLSA query; validate adds its DS/DNSKEY chain queries, once.
        if (mode == DnsMode::trust_ad) CHECK(queries == 1);
        if (mode == DnsMode::validate) CHECK(queries < 10);
        CHECK(harness.cache->flights() == 0);
    }
}

TEST_CASE("lookups from four threads, each with its own loop and resolver, share one query") {
    if (test::lab_in_netns()) return;  // counted at unbound, which recursive mode does not use
    DnsConfig config = test::lab_config(DnsMode::trust_ad);
    auto cache = std::make_shared<TlsaCache>(config.cache);
    long before = test::unbound_queries();
    std::atomic<int> secure{0};
    std::barrier start(4);
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&] {
            Harness harness(config, cache);
            int done = 0;
            std::vector<PendingLookupPtr> pending;
            start.arrive_and_wait();
            for (int i = 0; i < 25; ++i) {
                pending.push_back(harness.resolver->lookup_tlsa(lab("NAME_DEVICE_B"), [&](const TlsaResult& result) {
                    ++done;
                    if (result.status == LookupStatus::secure) ++secure;
                }));
            }
            harness.loop.run_until([&] { return done == 25; });
        });
    }
    for (auto& worker : workers) worker.join();
    CHECK(secure == 100);
    CHECK(test::unbound_queries() - before == 1);
}

TEST_CASE("the LRU bound holds") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        DnsConfig config = test::lab_config(mode);
        config.cache.max_entries = 3;
        Harness harness(config, std::make_shared<TlsaCache>(config.cache, 1));  // one shard: a known order
        std::vector<std::string> names = {lab("NAME_NS_A"),  lab("NAME_NS_B"),   lab("NAME_C301"),
                                          lab("NAME_C312"),  lab("NAME_DEVICE"), lab("NAME_NODATA")};
        for (const auto& name : names) harness.lookup(name);
        CHECK(harness.cache->size() == 3);
        CHECK_FALSE(harness.resolver->cached_tlsa(names.front()));
        CHECK(harness.resolver->cached_tlsa(names[4]));
        CHECK_FALSE(harness.resolver->cached_tlsa(names.back()));  // a negative answer never evicts a secure one
    }
}

TEST_CASE("with the cache disabled, repeated lookups (answered at once by a warm upstream cache) still work") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        DnsConfig config = test::lab_config(mode);
        config.cache.max_entries = 0;
        Harness harness(config);
        for (int i = 0; i < 5; ++i) {
            TlsaResult result = harness.lookup(lab("NAME_NS_A"));
            CHECK(result.status == LookupStatus::secure);
            CHECK_FALSE(result.from_cache);
            REQUIRE(result.records.size() == 1);
            CHECK(result.records[0].to_string() == lab("TLSA_NS_A"));
        }
        CHECK(harness.cache->size() == 0);
    }
}

TEST_CASE("a lossy path to the resolver never crashes, never answers wrongly, and every lookup ends") {
    if (test::lab_in_netns()) return;
    const std::vector<std::pair<std::string, LookupStatus>> names = {
        {lab("NAME_NS_A"), LookupStatus::secure},       {lab("NAME_BOGUS_SIG"), LookupStatus::bogus},
        {lab("NAME_NXDOMAIN"), LookupStatus::nxdomain}, {lab("NAME_INSECURE"), LookupStatus::insecure},
        {lab("NAME_C312"), LookupStatus::secure},       {lab("NAME_NODATA"), LookupStatus::nodata},
    };
    for (DnsMode mode : {DnsMode::trust_ad, DnsMode::validate}) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        // Validation needs about six queries per lookup: lose fewer, so some partial chains time out.
        LossyForwarder lossy(static_cast<uint16_t>(std::stoi(lab("UNBOUND_PORT"))), mode == DnsMode::validate ? 9 : 3);
        int lost_lookups = 0;
        for (int round = 0; round < 12; ++round) {
            DnsConfig config = pointing_at(mode, lossy.port(), 400);
            config.transport = dance::config::DnsTransport::udp;
            config.cache.max_entries = 0;
            Harness harness(config);
            int done = 0;
            std::vector<PendingLookupPtr> pending;
            for (const auto& [name, expected] : names) {
                pending.push_back(harness.resolver->lookup_tlsa(name, [&, expected = expected](const TlsaResult& result) {
                    ++done;
                    // Loss may turn any answer into timeout or error, never into another verdict.
                    bool lost = result.status == LookupStatus::timeout || result.status == LookupStatus::error;
                    lost_lookups += lost;
                    CHECK((lost || result.status == expected));
                }));
            }
            REQUIRE(harness.loop.run_until([&] { return done == static_cast<int>(names.size()); }, 5s));
        }
        CHECK(lossy.dropped() > 0);
        MESSAGE(mode_label << ": " << lossy.dropped() << " packets dropped, " << lost_lookups << " of "
                           << 12 * names.size() << " lookups lost");
    }
}

TEST_CASE("a resolver that does not answer gives status timeout within timeout_ms plus a margin") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        SilentServer silent;
        DnsConfig config = pointing_at(mode, silent.port, 500);
        if (mode == DnsMode::recursive) config.root_servers = {"127.0.0.2"};  // nothing listens there
        Harness harness(config);
        auto started = std::chrono::steady_clock::now();
        TlsaResult result = harness.lookup(lab("NAME_NS_A"));
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        CAPTURE(result.detail);
        CHECK(result.status == LookupStatus::timeout);
        CHECK(seconds >= 0.45);
        CHECK(seconds < 0.5 + 3.0);
        CHECK(harness.cache->size() == 0);  // timeouts are not cached
    }
}

TEST_CASE("a closed resolver port fails closed within the bound") {
    for (DnsMode mode : test::lab_modes()) {
        if (mode == DnsMode::recursive) continue;
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        for (auto transport : {dance::config::DnsTransport::udp, dance::config::DnsTransport::tcp}) {
            DnsConfig config = pointing_at(mode, closed_port(), 500);
            config.transport = transport;
            Harness harness(config);
            auto started = std::chrono::steady_clock::now();
            TlsaResult result = harness.lookup(lab("NAME_NS_A"));
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            CAPTURE(result.detail);
            CHECK((result.status == LookupStatus::timeout || result.status == LookupStatus::error));
            CHECK(seconds < 0.5 + 3.0);
        }
    }
}

TEST_CASE("trust-ad over TCP gives the same answers") {
    if (test::lab_in_netns()) return;
    DnsConfig config = test::lab_config(DnsMode::trust_ad);
    config.transport = dance::config::DnsTransport::tcp;
    Harness harness(config);
    CHECK(harness.lookup(lab("NAME_NS_A")).status == LookupStatus::secure);
    CHECK(harness.lookup(lab("NAME_BOGUS_SIG")).status == LookupStatus::bogus);
    CHECK(harness.lookup(lab("NAME_NXDOMAIN")).status == LookupStatus::nxdomain);
}

TEST_CASE("cancelled lookups never call back, also when the connection was closed under them") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        int callbacks = 0;
        {
            // A TCP "resolver" that accepts and closes every connection.
            SilentServer closer(SOCK_STREAM);
            std::atomic<bool> stop{false};
            std::thread acceptor([&] {
                while (!stop) {
                    int client = accept4(closer.fd, nullptr, nullptr, SOCK_NONBLOCK);
                    if (client >= 0) close(client);
                    else std::this_thread::sleep_for(1ms);
                }
            });
            DnsConfig config = pointing_at(mode, closer.port, 800);
            config.transport = dance::config::DnsTransport::tcp;
            if (mode == DnsMode::recursive) config.root_servers = {"127.0.0.2"};
            Harness harness(config);
            std::vector<PendingLookupPtr> pending;
            for (int i = 0; i < 40; ++i) {
                pending.push_back(harness.resolver->lookup_tlsa("c" + std::to_string(i) + "." + lab("LAB_ZONE"),
                                                                [&](const TlsaResult&) { ++callbacks; }));
                pending.push_back(harness.resolver->lookup_addresses("a" + std::to_string(i) + "." + lab("LAB_ZONE"),
                                                                     [&](const AddressResult&) { ++callbacks; }));
            }
            harness.loop.run_for(50ms);
            for (size_t i = 0; i < pending.size(); i += 2) pending[i].reset();  // half now, mid-flight
            harness.loop.run_for(100ms);
            int before_rest = callbacks;
            pending.clear();
            harness.loop.run_for(1500ms);  // past every timer of the cancelled lookups
            CHECK(callbacks == before_rest);
            // Destroying the resolver with lookups still outstanding must be clean too.
            for (int i = 0; i < 10; ++i) {
                pending.push_back(harness.resolver->lookup_tlsa("late" + std::to_string(i) + "." + lab("LAB_ZONE"),
                                                                [&](const TlsaResult&) { ++callbacks; }));
            }
            harness.loop.run_for(20ms);
            int before_destroy = callbacks;
            harness.resolver.reset();
            pending.clear();
            harness.loop.run_for(200ms);
            CHECK(callbacks == before_destroy);
            stop = true;
            acceptor.join();
        }
    }
}

TEST_CASE("a lookup may destroy its resolver from inside its callback") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        bool called = false;
        PendingLookupPtr other;
        auto pending = harness.resolver->lookup_tlsa(lab("NAME_NS_A"), [&](const TlsaResult&) {
            called = true;
            other.reset();
            harness.resolver.reset();
        });
        other = harness.resolver->lookup_tlsa(lab("NAME_NS_A"), [&](const TlsaResult&) {});
        REQUIRE(harness.loop.run_until([&] { return called; }));
        pending.reset();
        harness.loop.run_for(50ms);
    }
}

TEST_CASE("address lookups return literals, no DNSSEC required") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        auto resolve = [&](const std::string& host) {
            std::optional<AddressResult> result;
            auto pending = harness.resolver->lookup_addresses(host, [&](const AddressResult& answer) { result = answer; });
            CHECK_FALSE(result);
            REQUIRE(harness.loop.run_until([&] { return result.has_value(); }));
            return *result;
        };
        AddressResult js = resolve(lab("NAME_JS"));
        CAPTURE(js.detail);
        CHECK((js.status == LookupStatus::secure || js.status == LookupStatus::insecure));
        CHECK(std::find(js.addresses.begin(), js.addresses.end(), lab("JS_ADDR")) != js.addresses.end());
        AddressResult literal = resolve("::1");
        REQUIRE(literal.addresses.size() == 1);
        CHECK(literal.addresses[0] == "::1");
        CHECK(resolve(lab("NAME_NXDOMAIN")).status == LookupStatus::nxdomain);
        CHECK(resolve("bad name").status == LookupStatus::error);
    }
}

TEST_CASE("address answers carry the DNSSEC state of the whole chain, also for a name that does not exist") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        auto resolve = [&](const std::string& host) {
            std::optional<AddressResult> result;
            auto pending = harness.resolver->lookup_addresses(host, [&](const AddressResult& answer) { result = answer; });
            REQUIRE(harness.loop.run_until([&] { return result.has_value(); }));
            return *result;
        };
        AddressResult js = resolve(lab("NAME_JS"));
        CAPTURE(js.detail);
        CHECK(js.status == LookupStatus::secure);
        CHECK(js.chain_status == LookupStatus::secure);
        CHECK(js.canonical_name == lab("NAME_JS"));
        AddressResult absent = resolve(lab("NAME_NXDOMAIN"));
        CHECK(absent.status == LookupStatus::nxdomain);
        CHECK(absent.chain_status == LookupStatus::secure);
        AddressResult unsigned_zone = resolve("ns1." + lab("INSECURE_ZONE"));
        CAPTURE(unsigned_zone.detail);
        CHECK_FALSE(unsigned_zone.addresses.empty());
        CHECK(unsigned_zone.status == LookupStatus::insecure);
        CHECK(unsigned_zone.chain_status == LookupStatus::insecure);
        AddressResult unsigned_absent = resolve("nothing-here." + lab("INSECURE_ZONE"));
        CHECK(unsigned_absent.status == LookupStatus::nxdomain);
        CHECK(unsigned_absent.chain_status == LookupStatus::insecure);
    }
}

TEST_CASE("NAPTR and SRV: parsed and classified like TLSA in trust-ad and recursive, not looked up in validate") {
    for (DnsMode mode : test::lab_modes()) {
        std::string mode_label = test::mode_name(mode);
        CAPTURE(mode_label);
        Harness harness(test::lab_config(mode));
        auto records = [&](const std::string& name, uint16_t type) {
            std::optional<RecordSetResult> result;
            auto pending = harness.resolver->lookup_records(name, type, [&](const RecordSetResult& answer) { result = answer; });
            CHECK_FALSE(result);
            REQUIRE(harness.loop.run_until([&] { return result.has_value(); }));
            return *result;
        };
        if (mode == DnsMode::validate) {
            CHECK_FALSE(harness.resolver->looks_up_records());
            CHECK(records(lab("NAME_FED_SRV"), 35).status == LookupStatus::error);
            continue;
        }
        REQUIRE(harness.resolver->looks_up_records());
        RecordSetResult naptr = records(lab("NAME_FED_SRV"), 35);
        CAPTURE(naptr.detail);
        REQUIRE(naptr.status == LookupStatus::secure);
        REQUIRE(naptr.naptr.size() == 2);
        bool found_lwns = false;
        for (const auto& record : naptr.naptr) {
            if (record.service != "LWNS") continue;
            found_lwns = true;
            CHECK(record.flags == "S");
            CHECK(record.order == 50);
            CHECK(record.replacement == "_lwns._tcp." + lab("NAME_FED_SRV_TARGET"));
        }
        CHECK(found_lwns);
        CHECK(naptr.ttl > 0);
        CHECK(naptr.ttl <= 300);
        RecordSetResult srv = records("_lwns._tcp." + lab("NAME_FED_SRV_TARGET"), 33);
        REQUIRE(srv.status == LookupStatus::secure);
        REQUIRE(srv.srv.size() == 1);
        CHECK(srv.srv[0].target == lab("NAME_FED_SRV_TARGET"));
        CHECK(records(lab("NAME_FED_JS1"), 35).status == LookupStatus::nodata);
        CHECK(records(lab("NAME_FED_NXDOMAIN"), 35).status == LookupStatus::nxdomain);
        CHECK(records(lab("NAME_FED_INSECURE"), 35).status == LookupStatus::insecure);
        CHECK(records(lab("NAME_FED_JS1"), 1).status == LookupStatus::error);  // only NAPTR and SRV
    }
}

TEST_CASE("invalid names fail without a query and without a synchronous callback") {
    Harness harness(test::lab_config(test::lab_modes().front()));
    bool called = false;
    auto pending = harness.resolver->lookup_tlsa("bad\\046name.test", [&](const TlsaResult& result) {
        called = true;
        CHECK(result.status == LookupStatus::error);
    });
    CHECK_FALSE(called);
    CHECK(harness.loop.run_until([&] { return called; }));
}
