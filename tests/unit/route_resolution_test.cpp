// RouteResolution's walk against scripted DNS answers: NAPTR, SRV, addresses and TLSA, each secure or not
// (docs/federation.md §4). The real resolver's side is tested with the DNS lab (test_outbound_federation.py).
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/c_handles.hpp"
#include "http_test_support.hpp"
#include "proxy/route/route_resolution.hpp"

using namespace dance;
using namespace dance::proxy;
using namespace dance::proxy::testing;
using dns::LookupStatus;

namespace {

// Answers every lookup from its script, from the loop (never synchronously); a name without a script is
// NXDOMAIN, validated. Records which names were asked, in order.
class ScriptedResolver : public dns::TlsaResolver {
public:
    explicit ScriptedResolver(event_base* base) : base_(base) {}

    std::map<std::string, dns::RecordSetResult> naptr, srv;
    std::map<std::string, dns::AddressResult> addresses;
    std::map<std::string, dns::TlsaResult> tlsa;
    std::vector<std::string> asked;

    dns::PendingLookupPtr lookup_tlsa(std::string_view name, dns::TlsaCallback callback) override {
        return later("TLSA " + std::string(name), [this, key = std::string(name), callback] {
            callback(found_or_absent(tlsa, key));
        });
    }
    std::optional<dns::TlsaResult> cached_tlsa(std::string_view) override { return std::nullopt; }
    dns::PendingLookupPtr lookup_addresses(std::string_view host, dns::AddressCallback callback) override {
        return later("A " + std::string(host), [this, key = std::string(host), callback] {
            auto found = addresses.find(key);
            dns::AddressResult absent;
            absent.status = LookupStatus::nxdomain;
            absent.chain_status = LookupStatus::secure;
            callback(found == addresses.end() ? absent : found->second);
        });
    }
    dns::PendingLookupPtr lookup_records(std::string_view name, uint16_t rrtype, dns::RecordSetCallback callback) override {
        auto& table = rrtype == 35 ? naptr : srv;
        return later((rrtype == 35 ? "NAPTR " : "SRV ") + std::string(name), [&table, key = std::string(name), callback] {
            callback(found_or_absent(table, key));
        });
    }

private:
    struct Pending : dns::PendingLookup {
        EventPtr event;
        std::function<void()> answer;
    };

    template <typename Result>
    static Result found_or_absent(const std::map<std::string, Result>& table, const std::string& key) {
        auto found = table.find(key);
        return found == table.end() ? dns::lookup_failure<Result>(LookupStatus::nxdomain, "scripted: absent") : found->second;
    }

    dns::PendingLookupPtr later(std::string question, std::function<void()> answer) {
        asked.push_back(std::move(question));
        auto pending = std::make_unique<Pending>();
        pending->answer = std::move(answer);
        pending->event.reset(evtimer_new(base_, [](evutil_socket_t, short, void* self) {
            auto* me = static_cast<Pending*>(self);
            auto answer = me->answer;  // the callback may destroy `me` by starting the next lookup
            answer();
        }, pending.get()));
        event_active(pending->event.get(), EV_TIMEOUT, 0);
        return pending;
    }

    event_base* base_;
};

dns::RecordSetResult secure_naptr(std::vector<dns::NaptrRecord> records, uint32_t ttl = 300) {
    dns::RecordSetResult result;
    result.status = LookupStatus::secure;
    result.type = 35;
    result.naptr = std::move(records);
    result.ttl = ttl;
    return result;
}

dns::RecordSetResult secure_srv(std::vector<dns::SrvRecord> records, uint32_t ttl = 300) {
    dns::RecordSetResult result;
    result.status = LookupStatus::secure;
    result.type = 33;
    result.srv = std::move(records);
    result.ttl = ttl;
    return result;
}

dns::AddressResult secure_address(std::string address, std::string canonical = "", uint32_t ttl = 300) {
    dns::AddressResult result;
    result.status = LookupStatus::secure;
    result.chain_status = LookupStatus::secure;
    result.addresses = {std::move(address)};
    result.canonical_name = std::move(canonical);
    result.ttl = ttl;
    return result;
}

dns::TlsaResult secure_tlsa() {
    dns::TlsaResult result;
    result.status = LookupStatus::secure;
    result.records.push_back({3, 1, 1, std::vector<uint8_t>(32, 0xab)});
    result.ttl = 300;
    return result;
}

dns::RecordSetResult no_naptr() { return dns::lookup_failure<dns::RecordSetResult>(LookupStatus::nodata, "scripted"); }

const std::string federation_name = "1.0.2.0.3.0.4.0.5.0.6.0.7.0.8.0.joineuis.example";

struct Walk {
    EventLoop loop;
    ScriptedResolver dns{loop.base()};

    ResolvedRoute run(uint16_t port = 443) {
        std::optional<ResolvedRoute> result;
        RouteResolution resolution(dns, {{federation_name, port}, true}, [&](ResolvedRoute route) { result = std::move(route); });
        REQUIRE(loop.run_until([&] { return result.has_value(); }));
        return std::move(*result);
    }
};

}  // namespace

TEST_CASE("no NAPTR (secure NODATA): the name's own addresses at the route's port, TLSA there") {
    Walk walk;
    walk.dns.naptr[federation_name] = no_naptr();
    walk.dns.addresses[federation_name] = secure_address("127.0.0.21");
    walk.dns.tlsa["_8443._tcp." + federation_name] = secure_tlsa();
    ResolvedRoute route = walk.run(8443);
    CHECK(route.failure.empty());
    CHECK(route.server.to_string() == federation_name + ":8443");
    CHECK(route.addresses == std::vector<std::string>{"127.0.0.21"});
    CHECK(route.tls_base == federation_name);
    CHECK(route.tlsa.authenticates());
}

TEST_CASE("NAPTR S -> SRV: the best LWNS record, then the SRV target and port; LWN and unknown flags skipped") {
    Walk walk;
    walk.dns.naptr[federation_name] = secure_naptr({
        {10, 10, "S", "LWN", "", "_lwn._tcp.plain.example"},       // plain HTTP: never
        {20, 10, "U", "LWNS", "!^.*$!https://u.example!", "."},   // U: not supported
        {50, 20, "S", "LWNS", "", "_lwns._tcp.second.example"},
        {50, 10, "s", "lwns", "", "_lwns._tcp.js.operator-b.example"},  // flags and service in any case
    }, 120);
    walk.dns.srv["_lwns._tcp.js.operator-b.example"] = secure_srv({
        {10, 0, 9000, "backup.operator-b.example"}, {0, 1, 8003, "low-weight.operator-b.example"},
        {0, 5, 8004, "js.operator-b.example"}}, 60);
    walk.dns.addresses["js.operator-b.example"] = secure_address("127.0.0.22", "", 600);
    walk.dns.tlsa["_8004._tcp.js.operator-b.example"] = secure_tlsa();
    ResolvedRoute route = walk.run();
    CHECK(route.failure.empty());
    CHECK(route.server.to_string() == "js.operator-b.example:8004");
    CHECK(route.tls_base == "js.operator-b.example");
    CHECK(route.ttl == 60);  // the shortest answer on the way
    CHECK(walk.dns.asked == std::vector<std::string>{"NAPTR " + federation_name, "SRV _lwns._tcp.js.operator-b.example",
                                                     "A js.operator-b.example", "TLSA _8004._tcp.js.operator-b.example"});
}

TEST_CASE("NAPTR A: the replacement is the host, at the route's port") {
    Walk walk;
    walk.dns.naptr[federation_name] = secure_naptr({{50, 50, "A", "LWNS", "", "js.a.example"}});
    walk.dns.addresses["js.a.example"] = secure_address("127.0.0.23");
    walk.dns.tlsa["_443._tcp.js.a.example"] = secure_tlsa();
    ResolvedRoute route = walk.run();
    CHECK(route.failure.empty());
    CHECK(route.server.to_string() == "js.a.example:443");
}

TEST_CASE("RFC 7671 §7: TLSA at the CNAME target first, the original name only when the target provably has none") {
    Walk walk;
    walk.dns.naptr[federation_name] = no_naptr();
    walk.dns.addresses[federation_name] = secure_address("127.0.0.22", "js2.operator-b.example");
    SUBCASE("target has TLSA") {
        walk.dns.tlsa["_443._tcp.js2.operator-b.example"] = secure_tlsa();
        ResolvedRoute route = walk.run();
        CHECK(route.tls_base == "js2.operator-b.example");
        CHECK(route.tlsa.authenticates());
    }
    SUBCASE("target provably has none: the original name's") {
        walk.dns.tlsa["_443._tcp." + federation_name] = secure_tlsa();
        ResolvedRoute route = walk.run();
        CHECK(route.tls_base == federation_name);
        CHECK(route.tlsa.authenticates());
    }
    SUBCASE("a bogus answer at the target is final") {
        walk.dns.tlsa["_443._tcp.js2.operator-b.example"] = dns::lookup_failure<dns::TlsaResult>(LookupStatus::bogus, "x");
        walk.dns.tlsa["_443._tcp." + federation_name] = secure_tlsa();
        ResolvedRoute route = walk.run();
        CHECK(route.tlsa.status == LookupStatus::bogus);
        CHECK(route.tls_base == "js2.operator-b.example");
    }
}

TEST_CASE("every step fails closed with the route result the proxy answers with") {
    Walk walk;
    auto fails_with = [&](std::string_view expected) {
        ResolvedRoute route = walk.run();
        CAPTURE(route.description);
        CHECK(route.failure == expected);
        CHECK(route.addresses.empty());
    };
    SUBCASE("NAPTR NXDOMAIN") { fails_with("unknown_receiver"); }
    SUBCASE("NAPTR insecure") {
        walk.dns.naptr[federation_name] = dns::lookup_failure<dns::RecordSetResult>(LookupStatus::insecure, "x");
        fails_with("insecure");
    }
    SUBCASE("NAPTR bogus") {
        walk.dns.naptr[federation_name] = dns::lookup_failure<dns::RecordSetResult>(LookupStatus::bogus, "x");
        fails_with("bogus");
    }
    SUBCASE("NAPTR timeout") {
        walk.dns.naptr[federation_name] = dns::lookup_failure<dns::RecordSetResult>(LookupStatus::timeout, "x");
        fails_with("timeout");
    }
    SUBCASE("only plain-HTTP NAPTR") {
        walk.dns.naptr[federation_name] = secure_naptr({{10, 10, "S", "LWN", "", "_lwn._tcp.x.example"}});
        fails_with("no_service");
    }
    SUBCASE("NAPTR leads to no SRV") {
        walk.dns.naptr[federation_name] = secure_naptr({{10, 10, "S", "LWNS", "", "_lwns._tcp.x.example"}});
        fails_with("no_service");
    }
    SUBCASE("SRV target \".\"") {
        walk.dns.naptr[federation_name] = secure_naptr({{10, 10, "S", "LWNS", "", "_lwns._tcp.x.example"}});
        walk.dns.srv["_lwns._tcp.x.example"] = secure_srv({{0, 0, 443, "."}});
        fails_with("unknown_receiver");
    }
    SUBCASE("SRV bogus") {
        walk.dns.naptr[federation_name] = secure_naptr({{10, 10, "S", "LWNS", "", "_lwns._tcp.x.example"}});
        walk.dns.srv["_lwns._tcp.x.example"] = dns::lookup_failure<dns::RecordSetResult>(LookupStatus::bogus, "x");
        fails_with("bogus");
    }
    SUBCASE("addresses insecure (CNAME into an unsigned zone)") {
        walk.dns.naptr[federation_name] = no_naptr();
        auto insecure = secure_address("127.0.0.24", "js.insecure.example");
        insecure.status = LookupStatus::insecure;
        insecure.chain_status = LookupStatus::insecure;
        walk.dns.addresses[federation_name] = insecure;
        fails_with("insecure");
    }
    SUBCASE("addresses bogus") {
        walk.dns.naptr[federation_name] = no_naptr();
        auto bogus = dns::lookup_failure<dns::AddressResult>(LookupStatus::nodata, "x");
        bogus.chain_status = LookupStatus::bogus;
        walk.dns.addresses[federation_name] = bogus;
        fails_with("bogus");
    }
    SUBCASE("no address (secure NODATA)") {
        walk.dns.naptr[federation_name] = no_naptr();
        auto nodata = dns::lookup_failure<dns::AddressResult>(LookupStatus::nodata, "x");
        nodata.chain_status = LookupStatus::secure;
        walk.dns.addresses[federation_name] = nodata;
        fails_with("unknown_receiver");
    }
}
