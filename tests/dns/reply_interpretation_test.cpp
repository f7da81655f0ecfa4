// Status mapping on hand-built getdns response dicts: each mode must fail closed.
#include <doctest/doctest.h>

#include <getdns/getdns_extra.h>

#include <optional>

#include "dns/getdns_handles.hpp"
#include "dns/reply_interpretation.hpp"

using namespace dance::dns;

namespace {

constexpr std::time_t now = 1'800'000'000;

void set_bindata(getdns_dict* dict, const char* name, const std::vector<uint8_t>& bytes) {
    getdns_bindata data{bytes.size(), const_cast<uint8_t*>(bytes.data())};
    REQUIRE(getdns_dict_set_bindata(dict, name, &data) == GETDNS_RETURN_GOOD);
}

GetdnsDictPtr tlsa_rr(uint32_t ttl, std::vector<uint8_t> data = std::vector<uint8_t>(32, 0xab)) {
    auto rr = make_getdns_dict();
    getdns_dict_set_int(rr.get(), "type", 52);
    getdns_dict_set_int(rr.get(), "ttl", ttl);
    getdns_dict_set_int(rr.get(), "/rdata/certificate_usage", 3);
    getdns_dict_set_int(rr.get(), "/rdata/selector", 1);
    getdns_dict_set_int(rr.get(), "/rdata/matching_type", 1);
    set_bindata(rr.get(), "/rdata/certificate_association_data", data);
    return rr;
}

GetdnsDictPtr rrsig_rr(uint32_t expiration) {
    auto rr = make_getdns_dict();
    getdns_dict_set_int(rr.get(), "type", 46);
    getdns_dict_set_int(rr.get(), "ttl", 300);
    getdns_dict_set_int(rr.get(), "/rdata/type_covered", 52);
    getdns_dict_set_int(rr.get(), "/rdata/signature_expiration", expiration);
    return rr;
}

struct ReplySpec {
    uint32_t status = GETDNS_RESPSTATUS_GOOD;
    uint32_t rcode = 0;
    std::optional<uint32_t> ad = 1;
    std::optional<uint32_t> dnssec_status;
    std::vector<GetdnsDictPtr> answer;
};

GetdnsDictPtr response(const ReplySpec& spec) {
    auto reply = make_getdns_dict();
    getdns_dict_set_int(reply.get(), "/header/rcode", spec.rcode);
    if (spec.ad) getdns_dict_set_int(reply.get(), "/header/ad", *spec.ad);
    if (spec.dnssec_status) getdns_dict_set_int(reply.get(), "dnssec_status", *spec.dnssec_status);
    auto answer = make_getdns_list();
    for (size_t i = 0; i < spec.answer.size(); ++i) getdns_list_set_dict(answer.get(), i, spec.answer[i].get());
    getdns_dict_set_list(reply.get(), "answer", answer.get());
    auto replies = make_getdns_list();
    getdns_list_set_dict(replies.get(), 0, reply.get());
    auto top = make_getdns_dict();
    getdns_dict_set_int(top.get(), "status", spec.status);
    getdns_dict_set_list(top.get(), "replies_tree", replies.get());
    return top;
}

LookupStatus by_ad(ReplySpec spec) {
    return interpret_tlsa_response(response(spec).get(), Validator::resolver_ad_bit, 3600, now).status;
}

LookupStatus by_status(ReplySpec spec) {
    return interpret_tlsa_response(response(spec).get(), Validator::getdns_dnssec_status, 3600, now).status;
}

ReplySpec reply(uint32_t rcode, std::optional<uint32_t> ad, std::optional<uint32_t> dnssec_status = std::nullopt,
                uint32_t status = GETDNS_RESPSTATUS_GOOD) {
    ReplySpec spec;
    spec.status = status;
    spec.rcode = rcode;
    spec.ad = ad;
    spec.dnssec_status = dnssec_status;
    return spec;
}

ReplySpec with_tlsa(ReplySpec spec) {
    spec.answer.push_back(tlsa_rr(300));
    return spec;
}

}  // namespace

TEST_CASE("trust-ad: only AD=1 and NOERROR with TLSA records is secure") {
    constexpr uint32_t no_name = GETDNS_RESPSTATUS_NO_NAME;
    CHECK(by_ad(with_tlsa(reply(0, 1))) == LookupStatus::secure);
    CHECK(by_ad(with_tlsa(reply(0, 0))) == LookupStatus::insecure);
    CHECK(by_ad(reply(2, 0)) == LookupStatus::bogus);
    CHECK(by_ad(reply(3, 1, std::nullopt, no_name)) == LookupStatus::nxdomain);
    CHECK(by_ad(reply(3, 0, std::nullopt, no_name)) == LookupStatus::insecure);
    CHECK(by_ad(reply(0, 1)) == LookupStatus::nodata);
    CHECK(by_ad(reply(5, 1)) == LookupStatus::error);  // REFUSED
    CHECK(by_ad(with_tlsa(reply(0, std::nullopt))) == LookupStatus::error);
    CHECK(by_ad(reply(0, 1, std::nullopt, GETDNS_RESPSTATUS_ALL_TIMEOUT)) == LookupStatus::timeout);
}

TEST_CASE("validate/recursive: the per-reply dnssec_status decides") {
    CHECK(by_status(with_tlsa(reply(0, 0, GETDNS_DNSSEC_SECURE))) == LookupStatus::secure);
    CHECK(by_status(with_tlsa(reply(0, 1, GETDNS_DNSSEC_BOGUS))) == LookupStatus::bogus);
    CHECK(by_status(with_tlsa(reply(0, 1, GETDNS_DNSSEC_INSECURE))) == LookupStatus::insecure);
    CHECK(by_status(with_tlsa(reply(0, 1, GETDNS_DNSSEC_INDETERMINATE))) == LookupStatus::error);
    CHECK(by_status(with_tlsa(reply(0, 1, 999))) == LookupStatus::error);
    CHECK(by_status(with_tlsa(reply(0, 1))) == LookupStatus::error);  // no status: AD alone is not trusted here
    CHECK(by_status(reply(3, 1, GETDNS_DNSSEC_SECURE)) == LookupStatus::nxdomain);
    CHECK(by_status(reply(0, 1, GETDNS_DNSSEC_SECURE)) == LookupStatus::nodata);
    CHECK(by_status(reply(2, 0)) == LookupStatus::bogus);
}

TEST_CASE("malformed input fails closed") {
    CHECK(interpret_tlsa_response(nullptr, Validator::resolver_ad_bit, 3600, now).status == LookupStatus::error);
    auto empty = make_getdns_dict();
    CHECK(interpret_tlsa_response(empty.get(), Validator::resolver_ad_bit, 3600, now).status == LookupStatus::error);
    ReplySpec bad_record;
    bad_record.answer.push_back(tlsa_rr(300, {}));  // empty association data
    CHECK(by_ad(std::move(bad_record)) == LookupStatus::error);
}

TEST_CASE("records and lifetime: min of RRset TTL, RRSIG expiry and max_ttl_s") {
    ReplySpec spec;
    spec.answer.push_back(tlsa_rr(300, std::vector<uint8_t>(32, 0x01)));
    spec.answer.push_back(tlsa_rr(200, std::vector<uint8_t>(32, 0x02)));
    auto result = interpret_tlsa_response(response(spec).get(), Validator::resolver_ad_bit, 3600, now);
    REQUIRE(result.status == LookupStatus::secure);
    REQUIRE(result.records.size() == 2);
    std::string hex_01;
    for (int i = 0; i < 32; ++i) hex_01 += "01";
    CHECK(result.records[0].to_string() == "3 1 1 " + hex_01);
    CHECK(result.ttl == 200);
    CHECK(interpret_tlsa_response(response(spec).get(), Validator::resolver_ad_bit, 60, now).ttl == 60);
    spec.answer.push_back(rrsig_rr(static_cast<uint32_t>(now + 42)));
    CHECK(interpret_tlsa_response(response(spec).get(), Validator::resolver_ad_bit, 3600, now).ttl == 42);
    spec.answer.push_back(rrsig_rr(static_cast<uint32_t>(now - 1)));
    CHECK(interpret_tlsa_response(response(spec).get(), Validator::resolver_ad_bit, 3600, now).ttl == 0);
}

TEST_CASE("RFC 7671 section 5: records with undefined parameters are unusable; a set of only those is no TLSA") {
    auto unusable = [](int usage, int selector, int matching) {
        auto rr = tlsa_rr(300);
        getdns_dict_set_int(rr.get(), "/rdata/certificate_usage", usage);
        getdns_dict_set_int(rr.get(), "/rdata/selector", selector);
        getdns_dict_set_int(rr.get(), "/rdata/matching_type", matching);
        return rr;
    };
    ReplySpec only_unusable = reply(0, 1);
    only_unusable.answer.push_back(unusable(4, 1, 1));
    only_unusable.answer.push_back(unusable(3, 2, 1));
    only_unusable.answer.push_back(unusable(3, 1, 3));
    TlsaResult none = interpret_tlsa_response(response(only_unusable).get(), Validator::resolver_ad_bit, 3600, now);
    CHECK(none.status == LookupStatus::nodata);
    CHECK_FALSE(none.authenticates());

    ReplySpec mixed = reply(0, 1);
    mixed.answer.push_back(unusable(4, 2, 3));
    mixed.answer.push_back(tlsa_rr(300));
    TlsaResult some = interpret_tlsa_response(response(mixed).get(), Validator::resolver_ad_bit, 3600, now);
    CHECK(some.status == LookupStatus::secure);
    REQUIRE(some.records.size() == 1);
    CHECK(some.records[0].usage == 3);
}
