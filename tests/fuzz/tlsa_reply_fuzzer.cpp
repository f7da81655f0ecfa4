// DNS replies as the resolver hands them to the project (dns/reply_interpretation.hpp): the fuzz bytes are a
// DNS message in wire format, turned into a getdns reply dict by getdns itself (getdns_wire2msg_dict), then
// wrapped in a response dict with the response status and per-reply dnssec_status getdns would add.
//
// Input: byte 0 picks the validator (bit 0), the response status (bits 1-3), the reply's dnssec_status (bits
// 4-6) and whether the reply is left out (bit 7); bytes 1-4 are `now` (big-endian seconds); the rest is the
// DNS message.
//
// Invariants:
//  - interpret_tlsa_response says `secure` exactly when an independent reading says so: a response that did not
//    time out, whose first reply has rcode NOERROR, is validated (trust-ad: AD bit set; validate/recursive:
//    dnssec_status SECURE) and has TLSA records in its answer section, all of them well-formed (non-empty
//    association data), at least one of them usable: defined usage (0-3), selector (0-1) and matching type
//    (0-2) (RFC 7671 section 5);
//  - authenticates() only for `secure`, and then the records are exactly the answer section's usable TLSA
//    records in order, never more; the lifetime is at most max_ttl, each TLSA TTL and each TLSA RRSIG's
//    remaining validity;
//  - a non-secure result carries no records and says why;
//  - interpret_address_response (the same reply, its A/AAAA records as getdns lists them in
//    just_address_answers): the chain is `secure` only when every reply was validated (AD bit, or dnssec_status
//    SECURE), the addresses `secure` only from a secure chain, only valid IP literals, IPv6 first; their
//    lifetime is no longer than any record of the answer (CNAMEs included);
//  - interpret_records_response (NAPTR, SRV): records only when secure, only of the type asked, the same verdict
//    as the TLSA reading for an insecure, bogus or timed-out reply, names that are host names (no final dot).
#include <arpa/inet.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/dns_name.hpp"
#include "dns/getdns_handles.hpp"
#include "dns/reply_interpretation.hpp"
#include "fuzz_check.hpp"

using namespace dance::dns;

namespace {

constexpr uint32_t max_ttl_s = 3600;
constexpr uint32_t response_statuses[8] = {GETDNS_RESPSTATUS_GOOD,          GETDNS_RESPSTATUS_NO_NAME,
                                           GETDNS_RESPSTATUS_ALL_TIMEOUT,   GETDNS_RESPSTATUS_NO_SECURE_ANSWERS,
                                           GETDNS_RESPSTATUS_ALL_BOGUS_ANSWERS, GETDNS_RESPSTATUS_GOOD,
                                           GETDNS_RESPSTATUS_GOOD,          GETDNS_RESPSTATUS_GOOD};
// 0: no dnssec_status member.
constexpr uint32_t dnssec_statuses[8] = {0, GETDNS_DNSSEC_SECURE, GETDNS_DNSSEC_BOGUS, GETDNS_DNSSEC_INSECURE,
                                         GETDNS_DNSSEC_INDETERMINATE, GETDNS_DNSSEC_NOT_PERFORMED,
                                         GETDNS_DNSSEC_SECURE, 999};

bool env_flag(const char* name) {
    const char* value = std::getenv(name);
    return value && *value && std::string(value) != "0";
}

// getdns 1.6.0 (Debian 12) reads past the end of some malformed messages in getdns_wire2msg_dict (see
// README.md, "Findings"): a bug of the library, not of the project. The message is handed over at the start of
// a zero-filled buffer with room to spare, so that those reads stay inside it and fuzzing goes on past them.
// DANCE_FUZZ_GETDNS_EXACT=1 passes a buffer of exactly the message's size instead (reproduces the overflow).
constexpr size_t getdns_slack = 128 * 1024;

getdns_return_t wire_to_reply(const uint8_t* wire, size_t size, getdns_dict** reply) {
    static const bool exact = env_flag("DANCE_FUZZ_GETDNS_EXACT");
    if (exact) {
        std::vector<uint8_t> copy(wire, wire + size);  // a heap block of the message's size, for ASan
        return getdns_wire2msg_dict(copy.data(), copy.size(), reply);
    }
    static std::vector<uint8_t> padded;
    padded.assign(size + getdns_slack, 0);
    std::copy(wire, wire + size, padded.begin());
    return getdns_wire2msg_dict(padded.data(), size, reply);
}

std::optional<uint32_t> get_int(const getdns_dict* dict, const char* name) {
    uint32_t value = 0;
    if (!dict || getdns_dict_get_int(dict, name, &value) != GETDNS_RETURN_GOOD) return std::nullopt;
    return value;
}

const getdns_dict* dict_at(const getdns_list* list, size_t index) {
    getdns_dict* dict = nullptr;
    if (!list || getdns_list_get_dict(list, index, &dict) != GETDNS_RETURN_GOOD) return nullptr;
    return dict;
}

size_t length_of(const getdns_list* list) {
    size_t length = 0;
    if (!list || getdns_list_get_length(list, &length) != GETDNS_RETURN_GOOD) return 0;
    return length;
}

const getdns_list* answer_of(const getdns_dict* reply) {
    getdns_list* answer = nullptr;
    if (!reply || getdns_dict_get_list(reply, "answer", &answer) != GETDNS_RETURN_GOOD) return nullptr;
    return answer;
}

// The answer section read again, without the project's code.
struct AnswerReading {
    std::vector<TlsaRecord> records;  // the usable ones
    bool all_well_formed = true;
    uint32_t min_ttl = UINT32_MAX;
    std::vector<uint32_t> rrsig_expirations;  // of RRSIGs covering TLSA
};

AnswerReading read_answer(const getdns_dict* reply) {
    AnswerReading reading;
    const getdns_list* answer = answer_of(reply);
    for (size_t i = 0; i < length_of(answer); ++i) {
        const getdns_dict* rr = dict_at(answer, i);
        auto type = get_int(rr, "type");
        if (!type) {
            reading.all_well_formed = false;
            continue;
        }
        if (*type == 46 && get_int(rr, "/rdata/type_covered") == 52u) {
            if (auto expiration = get_int(rr, "/rdata/signature_expiration"))
                reading.rrsig_expirations.push_back(*expiration);
        }
        if (*type != 52) continue;
        auto usage = get_int(rr, "/rdata/certificate_usage");
        auto selector = get_int(rr, "/rdata/selector");
        auto matching = get_int(rr, "/rdata/matching_type");
        auto ttl = get_int(rr, "ttl");
        getdns_bindata* data = nullptr;
        if (!usage || !selector || !matching || !ttl || *usage > 255 || *selector > 255 || *matching > 255 ||
            getdns_dict_get_bindata(rr, "/rdata/certificate_association_data", &data) != GETDNS_RETURN_GOOD ||
            !data || data->size == 0) {
            reading.all_well_formed = false;
            continue;
        }
        reading.min_ttl = std::min(reading.min_ttl, *ttl);
        if (*usage > 3 || *selector > 1 || *matching > 2) continue;  // unusable, RFC 7671 section 5
        TlsaRecord record;
        record.usage = static_cast<uint8_t>(*usage);
        record.selector = static_cast<uint8_t>(*selector);
        record.matching_type = static_cast<uint8_t>(*matching);
        record.data.assign(data->data, data->data + data->size);
        reading.records.push_back(std::move(record));
    }
    return reading;
}

std::string describe(const TlsaResult& result) {
    std::string text = std::string(to_string(result.status)) + " ttl " + std::to_string(result.ttl) + " \"" +
                       result.detail + "\"";
    for (const TlsaRecord& record : result.records) text += "\n    " + record.to_string();
    return text;
}

void check_tlsa(const getdns_dict* response, const getdns_dict* reply, Validator validator, uint32_t status,
                std::time_t now) {
    TlsaResult result = interpret_tlsa_response(response, validator, max_ttl_s, now);
    AnswerReading reading = read_answer(reply);
    auto context = [&] {
        return "\n  result: " + describe(result) + "\n  validator " +
               (validator == Validator::resolver_ad_bit ? "ad-bit" : "dnssec_status") + ", status " +
               std::to_string(status) + ", rcode " + std::to_string(get_int(reply, "/header/rcode").value_or(999)) +
               ", ad " + std::to_string(get_int(reply, "/header/ad").value_or(999)) + ", dnssec_status " +
               std::to_string(get_int(reply, "dnssec_status").value_or(0)) + ", " +
               std::to_string(reading.records.size()) + " usable TLSA records" +
               (reading.all_well_formed ? "" : " (some malformed)");
    };

    bool validated = validator == Validator::resolver_ad_bit ? get_int(reply, "/header/ad") == 1u
                                                             : get_int(reply, "dnssec_status") == GETDNS_DNSSEC_SECURE;
    bool expect_secure = reply && status != GETDNS_RESPSTATUS_ALL_TIMEOUT && get_int(reply, "/header/rcode") == 0u &&
                         validated && reading.all_well_formed && !reading.records.empty();
    FUZZ_CHECK((result.status == LookupStatus::secure) == expect_secure, "secure or not" + context());
    FUZZ_CHECK(result.authenticates() == (result.status == LookupStatus::secure), "authenticates()" + context());
    if (!result.authenticates()) {
        FUZZ_CHECK(result.records.empty(), "records on a failure" + context());
        FUZZ_CHECK(!result.detail.empty(), "a failure without a cause" + context());
        return;
    }
    FUZZ_CHECK(std::all_of(result.records.begin(), result.records.end(),
                           [](const TlsaRecord& r) { return r.usage <= 3 && r.selector <= 1 && r.matching_type <= 2; }),
               "an unusable record authenticates" + context());
    FUZZ_CHECK(result.records == reading.records, "records differ from the answer section" + context());
    FUZZ_CHECK(result.ttl <= max_ttl_s && result.ttl <= reading.min_ttl, "ttl above a limit" + context());
    for (uint32_t expiration : reading.rrsig_expirations) {
        auto left = static_cast<int32_t>(expiration - static_cast<uint32_t>(now));
        FUZZ_CHECK(result.ttl <= static_cast<uint32_t>(std::max<int32_t>(left, 0)),
                   "ttl beyond an RRSIG expiration " + std::to_string(expiration) + context());
    }
    for (const TlsaRecord& record : result.records) {
        std::string text = record.to_string();
        FUZZ_CHECK(text.size() >= 2 * record.data.size() && text.find(record.parameters()) == 0, text + context());
    }
}

// getdns' just_address_answers for a response: every A/AAAA of every reply's answer section.
dance::dns::GetdnsListPtr address_answers(const getdns_list* replies) {
    auto list = make_getdns_list();
    size_t next = 0;
    for (size_t r = 0; r < length_of(replies); ++r) {
        const getdns_list* answer = answer_of(dict_at(replies, r));
        for (size_t i = 0; i < length_of(answer); ++i) {
            const getdns_dict* rr = dict_at(answer, i);
            auto type = get_int(rr, "type");
            getdns_bindata* address = nullptr;
            if (!type || (*type != 1 && *type != 28)) continue;
            const char* member = *type == 1 ? "/rdata/ipv4_address" : "/rdata/ipv6_address";
            if (getdns_dict_get_bindata(rr, member, &address) != GETDNS_RETURN_GOOD || !address) continue;
            auto entry = make_getdns_dict();
            const char* kind_name = *type == 1 ? "IPv4" : "IPv6";
            getdns_bindata kind{4, const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(kind_name))};
            getdns_dict_set_bindata(entry.get(), "address_type", &kind);
            getdns_dict_set_bindata(entry.get(), "address_data", address);
            getdns_list_set_dict(list.get(), next++, entry.get());
        }
    }
    return list;
}

void check_addresses(getdns_dict* response, const getdns_list* replies, Validator validator, std::time_t now) {
    auto answers = address_answers(replies);
    getdns_dict_set_list(response, "just_address_answers", answers.get());
    AddressResult result = interpret_address_response(response, validator, now);
    auto context = [&] {
        std::string text = "\n  address result " + std::string(to_string(result.status)) + " \"" + result.detail + "\"";
        for (const auto& address : result.addresses) text += " " + address;
        return text;
    };
    bool seen_v4 = false;
    for (const std::string& address : result.addresses) {
        unsigned char binary[16];
        bool v6 = inet_pton(AF_INET6, address.c_str(), binary) == 1;
        bool v4 = inet_pton(AF_INET, address.c_str(), binary) == 1;
        FUZZ_CHECK(v4 || v6, "not an IP literal: " + address + context());
        FUZZ_CHECK(!(v6 && seen_v4), "IPv6 after IPv4" + context());
        seen_v4 = seen_v4 || v4;
    }
    bool usable = result.status == LookupStatus::secure || result.status == LookupStatus::insecure;
    FUZZ_CHECK(usable == !result.addresses.empty(), "addresses and status disagree" + context());
    for (size_t r = 0; usable && r < length_of(replies); ++r) {  // no record of the answer outlived
        getdns_list* answer = nullptr;
        getdns_dict_get_list(dict_at(replies, r), "answer", &answer);
        for (size_t i = 0; i < length_of(answer); ++i) {
            auto rr_ttl = get_int(dict_at(answer, i), "ttl");
            FUZZ_CHECK(!rr_ttl || result.ttl <= *rr_ttl, "address lifetime longer than a record's TTL" + context());
        }
    }
    FUZZ_CHECK(result.status != LookupStatus::secure || result.chain_status == LookupStatus::secure,
               "secure addresses from an answer that is not" + context());
    if (result.chain_status == LookupStatus::secure) {
        FUZZ_CHECK(length_of(replies) > 0, "secure without replies" + context());
        for (size_t r = 0; r < length_of(replies); ++r) {
            const getdns_dict* reply = dict_at(replies, r);
            bool validated = validator == Validator::resolver_ad_bit
                                 ? get_int(reply, "/header/ad") == 1u
                                 : get_int(reply, "dnssec_status") == uint32_t{GETDNS_DNSSEC_SECURE};
            FUZZ_CHECK(validated, "secure chain with a reply that was not validated" + context());
        }
    }
}

// NAPTR and SRV (route discovery): the same verdict as the TLSA reading of the same reply, records only when
// secure, names without a final dot except the root, lifetime within max_ttl_s.
void check_records(const getdns_dict* response, Validator validator, std::time_t now) {
    TlsaResult tlsa = interpret_tlsa_response(response, validator, max_ttl_s, now);
    for (uint16_t type : {uint16_t{35}, uint16_t{33}}) {
        RecordSetResult result = interpret_records_response(response, type, validator, max_ttl_s, now);
        auto context = [&] {
            return "\n  records type " + std::to_string(type) + ": " + std::string(to_string(result.status)) + " \"" +
                   result.detail + "\"; tlsa reading " + std::string(to_string(tlsa.status));
        };
        bool has_records = !result.naptr.empty() || !result.srv.empty();
        FUZZ_CHECK((result.status == LookupStatus::secure) == has_records, "records and status disagree" + context());
        FUZZ_CHECK(type == 35 ? result.srv.empty() : result.naptr.empty(), "records of the other type" + context());
        FUZZ_CHECK(result.ttl <= max_ttl_s, "ttl above max_ttl_s" + context());
        bool unvalidated = tlsa.status == LookupStatus::insecure || tlsa.status == LookupStatus::bogus ||
                           tlsa.status == LookupStatus::timeout;
        if (unvalidated) FUZZ_CHECK(result.status == tlsa.status, "a verdict other than the TLSA reading's" + context());
        auto host_name = [](const std::string& name) { return name == "." || dance::why_invalid_name(name).empty(); };
        for (const auto& record : result.naptr) FUZZ_CHECK(host_name(record.replacement), "not a host name" + context());
        for (const auto& record : result.srv) FUZZ_CHECK(host_name(record.target), "not a host name" + context());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 5) return 0;
    const uint8_t control = data[0];
    const Validator validator = control & 1 ? Validator::getdns_dnssec_status : Validator::resolver_ad_bit;
    const uint32_t status = response_statuses[(control >> 1) & 7];
    const uint32_t dnssec_status = dnssec_statuses[(control >> 4) & 7];
    const bool no_reply = control & 0x80;
    const std::time_t now = (uint32_t{data[1]} << 24) | (uint32_t{data[2]} << 16) | (uint32_t{data[3]} << 8) | data[4];

    getdns_dict* parsed = nullptr;
    if (wire_to_reply(data + 5, size - 5, &parsed) != GETDNS_RETURN_GOOD || !parsed) return 0;
    dance::dns::GetdnsDictPtr reply(parsed);
    if (dnssec_status != 0) getdns_dict_set_int(reply.get(), "dnssec_status", dnssec_status);

    auto replies = make_getdns_list();
    if (!no_reply) getdns_list_set_dict(replies.get(), 0, reply.get());
    auto response = make_getdns_dict();
    getdns_dict_set_int(response.get(), "status", status);
    getdns_dict_set_list(response.get(), "replies_tree", replies.get());

    // Read back what the response holds (getdns copies on set), as the project will see it.
    getdns_list* held_replies = nullptr;
    getdns_dict_get_list(response.get(), "replies_tree", &held_replies);
    const getdns_dict* held_reply = length_of(held_replies) > 0 ? dict_at(held_replies, 0) : nullptr;

    check_tlsa(response.get(), held_reply, validator, status, now);
    check_addresses(response.get(), held_replies, validator, now);
    check_records(response.get(), validator, now);
    return 0;
}
