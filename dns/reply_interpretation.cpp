#include "dns/reply_interpretation.hpp"

#include "base/dns_name.hpp"

#include <getdns/getdns_extra.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace dance::dns {
namespace {

constexpr uint32_t rrtype_tlsa = 52;
constexpr uint32_t rrtype_rrsig = 46;
constexpr uint32_t rrtype_a = 1;
constexpr uint32_t rrtype_aaaa = 28;
constexpr uint32_t rcode_noerror = 0;
constexpr uint32_t rcode_servfail = 2;
constexpr uint32_t rcode_nxdomain = 3;

std::optional<uint32_t> get_int(const getdns_dict* dict, const char* path) {
    uint32_t value = 0;
    if (getdns_dict_get_int(dict, path, &value) != GETDNS_RETURN_GOOD) return std::nullopt;
    return value;
}

const getdns_list* get_list(const getdns_dict* dict, const char* path) {
    getdns_list* list = nullptr;
    if (getdns_dict_get_list(dict, path, &list) != GETDNS_RETURN_GOOD) return nullptr;
    return list;
}

size_t length_of(const getdns_list* list) {
    size_t length = 0;
    if (!list || getdns_list_get_length(list, &length) != GETDNS_RETURN_GOOD) return 0;
    return length;
}

const getdns_dict* dict_at(const getdns_list* list, size_t index) {
    getdns_dict* dict = nullptr;
    if (getdns_list_get_dict(list, index, &dict) != GETDNS_RETURN_GOOD) return nullptr;
    return dict;
}

TlsaResult failure(LookupStatus status, std::string detail) {
    return lookup_failure<TlsaResult>(status, std::move(detail));
}

std::optional<TlsaRecord> parse_tlsa_rdata(const getdns_dict* rr) {
    auto usage = get_int(rr, "/rdata/certificate_usage");
    auto selector = get_int(rr, "/rdata/selector");
    auto matching_type = get_int(rr, "/rdata/matching_type");
    getdns_bindata* data = nullptr;
    if (!usage || !selector || !matching_type || *usage > 255 || *selector > 255 || *matching_type > 255 ||
        getdns_dict_get_bindata(rr, "/rdata/certificate_association_data", &data) != GETDNS_RETURN_GOOD ||
        !data || data->size == 0) {
        return std::nullopt;
    }
    TlsaRecord record;
    record.usage = static_cast<uint8_t>(*usage);
    record.selector = static_cast<uint8_t>(*selector);
    record.matching_type = static_cast<uint8_t>(*matching_type);
    record.data.assign(data->data, data->data + data->size);
    return record;
}

// Seconds from now until the RRSIG expires (RFC 4034 serial arithmetic), 0 if already past.
uint32_t seconds_until_expiration(uint32_t expiration, std::time_t now) {
    auto delta = static_cast<int32_t>(expiration - static_cast<uint32_t>(now));
    return delta > 0 ? static_cast<uint32_t>(delta) : 0;
}

// Fills records and ttl from a reply's answer section. Returns false on a malformed TLSA record.
bool collect_tlsa_answer(const getdns_dict* reply, uint32_t max_ttl_s, std::time_t now, TlsaResult& result) {
    const getdns_list* answer = get_list(reply, "answer");
    uint32_t ttl = max_ttl_s;
    for (size_t i = 0; i < length_of(answer); ++i) {
        const getdns_dict* rr = dict_at(answer, i);
        auto type = rr ? get_int(rr, "type") : std::nullopt;
        if (!type) return false;
        if (*type == rrtype_tlsa) {
            auto record = parse_tlsa_rdata(rr);
            auto rr_ttl = get_int(rr, "ttl");
            if (!record || !rr_ttl) return false;
            result.records.push_back(std::move(*record));
            ttl = std::min(ttl, *rr_ttl);
        } else if (*type == rrtype_rrsig && get_int(rr, "/rdata/type_covered") == rrtype_tlsa) {
            if (auto expiration = get_int(rr, "/rdata/signature_expiration")) {
                ttl = std::min(ttl, seconds_until_expiration(*expiration, now));
            }
        }
    }
    result.ttl = ttl;
    return true;
}

TlsaResult classify_validated(const getdns_dict* reply, uint32_t rcode, uint32_t max_ttl_s, std::time_t now) {
    if (rcode == rcode_nxdomain) return failure(LookupStatus::nxdomain, "name does not exist (validated)");
    if (rcode != rcode_noerror) return failure(LookupStatus::error, "rcode " + std::to_string(rcode));
    TlsaResult result;
    if (!collect_tlsa_answer(reply, max_ttl_s, now, result)) {
        return failure(LookupStatus::error, "malformed TLSA record in answer");
    }
    if (result.records.empty()) return failure(LookupStatus::nodata, "no TLSA record at this name (validated)");
    // RFC 7671 section 5: records with an undefined usage, selector or matching type are unusable, and a set
    // with no usable record is treated as no TLSA records at all.
    std::erase_if(result.records, [](const TlsaRecord& record) {
        return record.usage > 3 || record.selector > 1 || record.matching_type > 2;
    });
    if (result.records.empty()) return failure(LookupStatus::nodata, "no usable TLSA record (validated; RFC 7671 section 5)");
    result.status = LookupStatus::secure;
    return result;
}

// Why a reply cannot be taken as validated, or nullopt when it is (its rcode then says what it proves).
std::optional<TlsaResult> not_validated(const getdns_dict* reply, uint32_t rcode, Validator validator) {
    if (validator == Validator::resolver_ad_bit) {
        auto ad = get_int(reply, "/header/ad");
        if (!ad) return failure(LookupStatus::error, "reply without header");
        if (rcode == rcode_servfail) return failure(LookupStatus::bogus, "SERVFAIL from validating resolver");
        if (rcode != rcode_noerror && rcode != rcode_nxdomain) {
            return failure(LookupStatus::error, "rcode " + std::to_string(rcode));
        }
        if (*ad != 1) return failure(LookupStatus::insecure, "resolver did not set the AD bit");
        return std::nullopt;
    }
    auto dnssec_status = get_int(reply, "dnssec_status");
    if (!dnssec_status) {
        if (rcode == rcode_servfail) return failure(LookupStatus::bogus, "SERVFAIL without DNSSEC status");
        return failure(LookupStatus::error, "reply without DNSSEC status");
    }
    switch (*dnssec_status) {
        case GETDNS_DNSSEC_SECURE: return std::nullopt;
        case GETDNS_DNSSEC_BOGUS: return failure(LookupStatus::bogus, "DNSSEC validation failed");
        case GETDNS_DNSSEC_INSECURE: return failure(LookupStatus::insecure, "name is in an unsigned zone");
        case GETDNS_DNSSEC_INDETERMINATE: return failure(LookupStatus::error, "DNSSEC status indeterminate");
        default: return failure(LookupStatus::error, "unknown DNSSEC status " + std::to_string(*dnssec_status));
    }
}

// The first reply and its rcode, or why there is none to read.
struct FirstReply {
    const getdns_dict* reply = nullptr;
    uint32_t rcode = 0;
    std::optional<TlsaResult> failed;
};

FirstReply first_reply(const getdns_dict* response) {
    if (!response) return {nullptr, 0, failure(LookupStatus::error, "no response")};
    auto status = get_int(response, "status");
    if (!status) return {nullptr, 0, failure(LookupStatus::error, "response without status")};
    if (*status == GETDNS_RESPSTATUS_ALL_TIMEOUT) return {nullptr, 0, failure(LookupStatus::timeout, "all queries timed out")};
    const getdns_list* replies = get_list(response, "replies_tree");
    const getdns_dict* reply = length_of(replies) > 0 ? dict_at(replies, 0) : nullptr;
    if (!reply) {
        return {nullptr, 0, failure(LookupStatus::error, "response without replies (status " + std::to_string(*status) + ")")};
    }
    auto rcode = get_int(reply, "/header/rcode");
    if (!rcode) return {nullptr, 0, failure(LookupStatus::error, "reply without rcode")};
    return {reply, *rcode, std::nullopt};
}

}  // namespace

TlsaResult interpret_tlsa_response(const getdns_dict* response, Validator validator, uint32_t max_ttl_s,
                                   std::time_t now) {
    FirstReply first = first_reply(response);
    if (first.failed) return std::move(*first.failed);
    if (auto why = not_validated(first.reply, first.rcode, validator)) return std::move(*why);
    return classify_validated(first.reply, first.rcode, max_ttl_s, now);
}

namespace {

constexpr uint32_t rrtype_srv = 33;
constexpr uint32_t rrtype_naptr = 35;

// A domain name in rdata (wire format) in presentation form, lower case, without the final dot; "." for the root;
// nullopt for anything but a host name.
std::optional<std::string> rdata_name(const getdns_dict* rr, const char* path) {
    getdns_bindata* wire = nullptr;
    if (getdns_dict_get_bindata(rr, path, &wire) != GETDNS_RETURN_GOOD || !wire) return std::nullopt;
    char* text = nullptr;
    if (getdns_convert_dns_name_to_fqdn(wire, &text) != GETDNS_RETURN_GOOD || !text) return std::nullopt;
    std::unique_ptr<char, decltype(&std::free)> owned(text, &std::free);
    std::string name(text);
    if (name.size() > 1 && name.ends_with('.')) name.pop_back();
    // Only host names go on (letters, digits, hyphen, underscore): a label with an escaped dot or other
    // escapes makes the record malformed, not a name that means something else further on.
    if (name != "." && !why_invalid_name(name).empty()) return std::nullopt;
    return lower_case(name);
}

std::optional<std::string> rdata_string(const getdns_dict* rr, const char* path) {
    getdns_bindata* data = nullptr;
    if (getdns_dict_get_bindata(rr, path, &data) != GETDNS_RETURN_GOOD || !data) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(data->data), data->size);
}

std::optional<uint16_t> rdata_u16(const getdns_dict* rr, const char* path) {
    auto value = get_int(rr, path);
    if (!value || *value > 0xffff) return std::nullopt;
    return static_cast<uint16_t>(*value);
}

bool add_naptr(const getdns_dict* rr, RecordSetResult& result) {
    auto order = rdata_u16(rr, "/rdata/order");
    auto preference = rdata_u16(rr, "/rdata/preference");
    auto flags = rdata_string(rr, "/rdata/flags");
    auto service = rdata_string(rr, "/rdata/service");
    auto regexp = rdata_string(rr, "/rdata/regexp");
    auto replacement = rdata_name(rr, "/rdata/replacement");
    if (!order || !preference || !flags || !service || !regexp || !replacement) return false;
    result.naptr.push_back({*order, *preference, std::move(*flags), std::move(*service), std::move(*regexp),
                            std::move(*replacement)});
    return true;
}

bool add_srv(const getdns_dict* rr, RecordSetResult& result) {
    auto priority = rdata_u16(rr, "/rdata/priority");
    auto weight = rdata_u16(rr, "/rdata/weight");
    auto port = rdata_u16(rr, "/rdata/port");
    auto target = rdata_name(rr, "/rdata/target");
    if (!priority || !weight || !port || !target) return false;
    result.srv.push_back({*priority, *weight, *port, std::move(*target)});
    return true;
}

RecordSetResult records_failure(const TlsaResult& why) {
    return lookup_failure<RecordSetResult>(why.status, why.detail);
}

}  // namespace

RecordSetResult interpret_records_response(const getdns_dict* response, uint16_t rrtype, Validator validator,
                                           uint32_t max_ttl_s, std::time_t now) {
    if (rrtype != rrtype_naptr && rrtype != rrtype_srv) {
        return lookup_failure<RecordSetResult>(LookupStatus::error, "record type " + std::to_string(rrtype) + " not supported");
    }
    FirstReply first = first_reply(response);
    if (first.failed) return records_failure(*first.failed);
    if (auto why = not_validated(first.reply, first.rcode, validator)) return records_failure(*why);
    if (first.rcode == rcode_nxdomain) {
        return lookup_failure<RecordSetResult>(LookupStatus::nxdomain, "name does not exist (validated)");
    }
    if (first.rcode != rcode_noerror) {
        return lookup_failure<RecordSetResult>(LookupStatus::error, "rcode " + std::to_string(first.rcode));
    }
    RecordSetResult result;
    result.type = rrtype;
    uint32_t ttl = max_ttl_s;
    const getdns_list* answer = get_list(first.reply, "answer");
    for (size_t i = 0; i < length_of(answer); ++i) {
        const getdns_dict* rr = dict_at(answer, i);
        auto type = rr ? get_int(rr, "type") : std::nullopt;
        if (!type) return lookup_failure<RecordSetResult>(LookupStatus::error, "malformed answer");
        if (*type == rrtype) {
            bool parsed = rrtype == rrtype_naptr ? add_naptr(rr, result) : add_srv(rr, result);
            auto rr_ttl = get_int(rr, "ttl");
            if (!parsed || !rr_ttl) return lookup_failure<RecordSetResult>(LookupStatus::error, "malformed record in answer");
            ttl = std::min(ttl, *rr_ttl);
        } else if (*type == rrtype_rrsig && get_int(rr, "/rdata/type_covered") == uint32_t{rrtype}) {
            if (auto expiration = get_int(rr, "/rdata/signature_expiration")) {
                ttl = std::min(ttl, seconds_until_expiration(*expiration, now));
            }
        }
    }
    if (result.naptr.empty() && result.srv.empty()) {
        return lookup_failure<RecordSetResult>(LookupStatus::nodata, "no record of this type at this name (validated)");
    }
    result.status = LookupStatus::secure;
    result.ttl = ttl;
    return result;
}

namespace {

std::string ip_literal(const getdns_bindata* address) {
    std::unique_ptr<char, decltype(&std::free)> text(getdns_display_ip_address(address), &std::free);
    return text ? std::string(text.get()) : std::string();
}

// The shortest lifetime in the answers: every record's TTL (A, AAAA and the CNAMEs that led to them) and
// every signature's remaining validity.
uint32_t min_answer_ttl(const getdns_list* replies, std::time_t now) {
    uint32_t ttl = std::numeric_limits<uint32_t>::max();
    for (size_t r = 0; r < length_of(replies); ++r) {
        const getdns_list* answer = get_list(dict_at(replies, r), "answer");
        for (size_t i = 0; i < length_of(answer); ++i) {
            const getdns_dict* rr = dict_at(answer, i);
            if (auto rr_ttl = get_int(rr, "ttl")) ttl = std::min(ttl, *rr_ttl);
            if (get_int(rr, "type") != rrtype_rrsig) continue;
            if (auto expiration = get_int(rr, "/rdata/signature_expiration")) {
                ttl = std::min(ttl, seconds_until_expiration(*expiration, now));
            }
        }
    }
    return ttl == std::numeric_limits<uint32_t>::max() ? 0 : ttl;
}

// The weakest DNSSEC state over the replies (A and AAAA): bogus, then error (not validated or not
// understood), then insecure; secure only when every reply is.
LookupStatus chain_security(const getdns_list* replies, Validator validator) {
    if (length_of(replies) == 0) return LookupStatus::error;
    LookupStatus weakest = LookupStatus::secure;
    auto weaken = [&weakest](LookupStatus state) {
        auto rank = [](LookupStatus s) {
            return s == LookupStatus::bogus ? 3 : s == LookupStatus::error ? 2 : s == LookupStatus::insecure ? 1 : 0;
        };
        if (rank(state) > rank(weakest)) weakest = state;
    };
    for (size_t r = 0; r < length_of(replies); ++r) {
        const getdns_dict* reply = dict_at(replies, r);
        if (validator == Validator::resolver_ad_bit) {
            auto rcode = get_int(reply, "/header/rcode");
            auto ad = get_int(reply, "/header/ad");
            if (!rcode || !ad) weaken(LookupStatus::error);
            else if (*rcode == rcode_servfail) weaken(LookupStatus::bogus);
            else if (*rcode != rcode_noerror && *rcode != rcode_nxdomain) weaken(LookupStatus::error);
            else if (*ad != 1) weaken(LookupStatus::insecure);
            continue;
        }
        auto dnssec_status = get_int(reply, "dnssec_status");
        if (!dnssec_status) weaken(LookupStatus::error);
        else if (*dnssec_status == GETDNS_DNSSEC_BOGUS) weaken(LookupStatus::bogus);
        else if (*dnssec_status == GETDNS_DNSSEC_INSECURE) weaken(LookupStatus::insecure);
        else if (*dnssec_status != GETDNS_DNSSEC_SECURE) weaken(LookupStatus::error);
    }
    return weakest;
}

// Where the CNAME chain ends, lower case without the final dot; "" when getdns gives none.
std::string canonical_name(const getdns_dict* response) {
    getdns_bindata* wire = nullptr;
    if (getdns_dict_get_bindata(response, "canonical_name", &wire) != GETDNS_RETURN_GOOD || !wire) return "";
    char* text = nullptr;
    if (getdns_convert_dns_name_to_fqdn(wire, &text) != GETDNS_RETURN_GOOD || !text) return "";
    std::unique_ptr<char, decltype(&std::free)> owned(text, &std::free);
    std::string name(text);
    if (name.ends_with('.')) name.pop_back();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name;
}

// IPv6 first, then IPv4, as literals.
std::vector<std::string> address_literals(const getdns_list* answers) {
    std::vector<std::string> v6;
    std::vector<std::string> v4;
    for (size_t i = 0; i < length_of(answers); ++i) {
        const getdns_dict* entry = dict_at(answers, i);
        getdns_bindata* type = nullptr;
        getdns_bindata* data = nullptr;
        if (!entry || getdns_dict_get_bindata(entry, "address_type", &type) != GETDNS_RETURN_GOOD ||
            getdns_dict_get_bindata(entry, "address_data", &data) != GETDNS_RETURN_GOOD) {
            continue;
        }
        std::string literal = ip_literal(data);
        if (literal.empty()) continue;
        bool is_v6 = type->size == 4 && std::string_view(reinterpret_cast<const char*>(type->data), 4) == "IPv6";
        (is_v6 ? v6 : v4).push_back(std::move(literal));
    }
    v6.insert(v6.end(), v4.begin(), v4.end());
    return v6;
}

}  // namespace

AddressResult interpret_address_response(const getdns_dict* response, Validator validator, std::time_t now) {
    AddressResult result;
    auto status = response ? get_int(response, "status") : std::nullopt;
    if (!status) {
        result.detail = "no response";
        return result;
    }
    if (*status == GETDNS_RESPSTATUS_ALL_TIMEOUT) {
        result.status = LookupStatus::timeout;
        result.detail = "all queries timed out";
        return result;
    }
    const getdns_list* replies = get_list(response, "replies_tree");
    result.chain_status = chain_security(replies, validator);
    result.canonical_name = canonical_name(response);
    if (*status == GETDNS_RESPSTATUS_NO_NAME) {
        result.status = LookupStatus::nxdomain;
        result.detail = "name does not exist";
        return result;
    }
    result.addresses = address_literals(get_list(response, "just_address_answers"));
    if (result.addresses.empty()) {
        result.status = *status == GETDNS_RESPSTATUS_GOOD ? LookupStatus::nodata : LookupStatus::error;
        result.detail = "no address records";
        return result;
    }
    result.status = result.chain_status == LookupStatus::secure ? LookupStatus::secure : LookupStatus::insecure;
    result.ttl = min_answer_ttl(replies, now);
    return result;
}

}  // namespace dance::dns
