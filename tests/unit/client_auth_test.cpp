// Client and server authentication decisions without a DNS lab: the ClientName codec, the DANE client
// verifier (allow-list before any query, the DNS budget, cached and fresh answers) and the RFC 7672 plan.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fake_resolver.hpp"
#include "http_test_support.hpp"
#include "proxy/auth/dane_client_verifier.hpp"
#include "proxy/auth/server_auth_plan.hpp"
#include "proxy/tls/dane_clientid.hpp"

using namespace dance;
using namespace dance::proxy;
using dance::proxy::testing::FakeResolver;
using Status = IdentityVerdict::Status;

namespace {

ParsedClientName parse(const std::vector<uint8_t>& bytes) { return parse_client_name(bytes.data(), bytes.size()); }

ParsedClientName named(std::string name) { return {ClientNameKind::name, std::move(name)}; }

dns::TlsaResult answer(dns::LookupStatus status, bool with_record = true) {
    dns::TlsaResult result;
    result.status = status;
    if (with_record) result.records.push_back({3, 1, 1, std::vector<uint8_t>(32, 0xab)});
    return result;
}

struct VerifierRig {
    proxy::testing::EventLoop loop;
    FakeResolver resolver{loop.base()};
    ClientAuthPolicy policy;
    PendingDnsBudget budget;
    VerifierRig() { policy.allow = {"*.clients.test", "exact.test"}; }
    DaneClientVerifier make() { return DaneClientVerifier(policy, resolver, budget); }
};

}  // namespace

TEST_CASE("ClientName codec: one length byte, then the name; the offer is a lone zero byte") {
    CHECK(encode_client_name("ns.example") == std::vector<uint8_t>{10, 'n', 's', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'});
    CHECK(encode_client_name(std::string(256, 'a')).empty());
    CHECK(encode_client_name(std::string(255, 'a')).size() == 256);
    CHECK(parse({0}).kind == ClientNameKind::empty);
    CHECK(parse({}).kind == ClientNameKind::malformed);
    CHECK(parse({5, 'a', 'b'}).kind == ClientNameKind::malformed);     // length says more than there is
    CHECK(parse({1, 'a', 'b'}).kind == ClientNameKind::malformed);     // trailing bytes
    auto round_trip = parse(encode_client_name("_ns-client.ns.example"));
    CHECK(round_trip.kind == ClientNameKind::name);
    CHECK(round_trip.name == "_ns-client.ns.example");
}

TEST_CASE("verifier: bad names and names outside the allow-list are refused with no DNS query") {
    VerifierRig rig;
    struct Case {
        ParsedClientName name;
        HandshakeResult expected;
    };
    std::vector<Case> cases = {
        {{ClientNameKind::empty, ""}, HandshakeResult::empty_clientid},
        {{ClientNameKind::malformed, ""}, HandshakeResult::bad_clientid},
        {named("a..b.clients.test"), HandshakeResult::bad_clientid},
        {named("a\\046b.clients.test"), HandshakeResult::bad_clientid},
        {named("ns.clients.test."), HandshakeResult::bad_clientid},
        {named("ns.other.test"), HandshakeResult::not_allowed},
        {named("clients.test"), HandshakeResult::not_allowed},  // "*.zone" is strictly below the zone
        {named("xexact.test"), HandshakeResult::not_allowed},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name.name);
        auto verifier = rig.make();
        IdentityVerdict verdict = verifier.check_name(c.name);
        CHECK(verdict.status == Status::refused);
        CHECK(verdict.refusal == c.expected);
    }
    CHECK(rig.resolver.lookups == 0);
}

TEST_CASE("verifier: an allowed name is looked up lower-cased; the answer settles the verdict") {
    VerifierRig rig;
    auto verifier = rig.make();
    CHECK(verifier.check_name(named("NS.Clients.Test")).status == Status::pending);
    bool settled = false;
    CHECK(verifier.resolve([&] { settled = true; }).status == Status::pending);
    CHECK(rig.resolver.last_name == "ns.clients.test");
    CHECK(rig.budget.in_use == 1);
    rig.resolver.answer_after(std::chrono::microseconds(0), answer(dns::LookupStatus::secure));
    REQUIRE(rig.loop.run_until([&] { return settled; }));
    CHECK(rig.budget.in_use == 0);
    CHECK(verifier.verdict().status == Status::accepted);
    CHECK(verifier.client_name() == "ns.clients.test");
}

TEST_CASE("verifier: each failed lookup is refused with its DNS result") {
    for (auto [status, expected] : std::vector<std::pair<dns::LookupStatus, HandshakeResult>>{
             {dns::LookupStatus::bogus, HandshakeResult::dns_bogus},
             {dns::LookupStatus::insecure, HandshakeResult::dns_insecure},
             {dns::LookupStatus::nxdomain, HandshakeResult::dns_nxdomain},
             {dns::LookupStatus::nodata, HandshakeResult::dns_nodata},
             {dns::LookupStatus::timeout, HandshakeResult::dns_timeout},
             {dns::LookupStatus::error, HandshakeResult::dns_error},
             {dns::LookupStatus::secure, HandshakeResult::dns_nodata}}) {  // secure, but no record
        CAPTURE(to_string(expected));
        VerifierRig rig;
        rig.resolver.cache["exact.test"] = answer(status, /*with_record=*/false);
        auto verifier = rig.make();
        IdentityVerdict verdict = verifier.check_name(named("exact.test"));
        CHECK(verdict.status == Status::refused);
        CHECK(verdict.refusal == expected);
        CHECK(rig.resolver.lookups == 0);  // a cached answer, positive or negative, needs no query
    }
}

TEST_CASE("verifier: over the DNS budget a name is refused before the handshake pauses; abandon releases the slot") {
    VerifierRig rig;
    rig.budget.limit = 1;
    auto first = rig.make();
    auto second = rig.make();
    REQUIRE(first.check_name(named("a.clients.test")).status == Status::pending);
    CHECK(rig.budget.in_use == 1);  // reserved by check_name, so a refusal never holds an async job
    IdentityVerdict over = second.check_name(named("b.clients.test"));
    CHECK(over.status == Status::refused);
    CHECK(over.refusal == HandshakeResult::too_many_pending);
    CHECK(first.resolve([] {}).status == Status::pending);
    CHECK(rig.resolver.lookups == 1);
    first.abandon();
    CHECK(rig.budget.in_use == 0);
    CHECK_FALSE(rig.resolver.waiting());
}

TEST_CASE("RFC 7672: the server authentication plan for each mode and TLSA answer") {
    using config::ServerAuth;
    using dns::LookupStatus;
    struct Row {
        ServerAuth mode;
        LookupStatus status;
        bool records;
        ServerAuthPlan plan;
    };
    const std::vector<Row> matrix = {
        {ServerAuth::dane, LookupStatus::secure, true, ServerAuthPlan::dane},
        {ServerAuth::dane, LookupStatus::secure, false, ServerAuthPlan::refuse},
        {ServerAuth::dane, LookupStatus::insecure, false, ServerAuthPlan::refuse},
        {ServerAuth::dane, LookupStatus::nxdomain, false, ServerAuthPlan::refuse},
        {ServerAuth::dane, LookupStatus::nodata, false, ServerAuthPlan::refuse},
        {ServerAuth::dane, LookupStatus::bogus, false, ServerAuthPlan::refuse},
        {ServerAuth::dane, LookupStatus::timeout, false, ServerAuthPlan::refuse},
        {ServerAuth::dane_or_pkix, LookupStatus::secure, true, ServerAuthPlan::dane},
        {ServerAuth::dane_or_pkix, LookupStatus::secure, false, ServerAuthPlan::refuse},
        {ServerAuth::dane_or_pkix, LookupStatus::insecure, false, ServerAuthPlan::pkix},
        {ServerAuth::dane_or_pkix, LookupStatus::nxdomain, false, ServerAuthPlan::pkix},
        {ServerAuth::dane_or_pkix, LookupStatus::nodata, false, ServerAuthPlan::pkix},
        {ServerAuth::dane_or_pkix, LookupStatus::bogus, false, ServerAuthPlan::refuse},
        {ServerAuth::dane_or_pkix, LookupStatus::timeout, false, ServerAuthPlan::refuse},
        {ServerAuth::dane_or_pkix, LookupStatus::error, false, ServerAuthPlan::refuse},
        {ServerAuth::pkix, LookupStatus::bogus, false, ServerAuthPlan::pkix},
        {ServerAuth::pkix, LookupStatus::secure, true, ServerAuthPlan::pkix},
    };
    for (const Row& row : matrix) {
        CAPTURE(static_cast<int>(row.mode));
        CAPTURE(dns::to_string(row.status));
        CAPTURE(row.records);
        CHECK(plan_server_auth(row.mode, answer(row.status, row.records)) == row.plan);
    }
    CHECK(refused_plan_result(answer(LookupStatus::secure, false)) == HandshakeResult::server_tlsa_mismatch);
    CHECK(refused_plan_result(answer(LookupStatus::bogus, false)) == HandshakeResult::dns_bogus);
    CHECK(server_tlsa_owner({"js.example", 8003}) == "_8003._tcp.js.example");
}
