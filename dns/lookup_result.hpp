// What a DNSSEC-validated lookup can end as. Only `secure` with at least one record authenticates.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/tlsa_record.hpp"

namespace dance::dns {

enum class LookupStatus { secure, insecure, bogus, nxdomain, nodata, timeout, error };

std::string_view to_string(LookupStatus status);

struct TlsaResult {
    LookupStatus status = LookupStatus::error;
    std::vector<TlsaRecord> records;  // only for secure
    uint32_t ttl = 0;                 // seconds the answer may be used from now (cache lifetime), rounded up
    // The same lifetime exactly (steady clock), set by the cache; what decides how long a connection
    // authenticated with the answer may live. Unset (the epoch) for answers the cache does not keep.
    std::chrono::steady_clock::time_point valid_until{};
    std::string detail;               // human-readable cause for non-secure answers
    bool from_cache = false;

    bool authenticates() const { return status == LookupStatus::secure && !records.empty(); }
};

struct AddressResult {
    LookupStatus status = LookupStatus::error;  // secure or insecure both usable for addresses
    std::vector<std::string> addresses;         // IPv6 first if any, then IPv4, as literals
    uint32_t ttl = 0;
    std::string detail;
    // The DNSSEC state of every reply and CNAME of the answer together, whatever `status` is: secure,
    // insecure, bogus, or error (not validated). A secure NXDOMAIN proves the name absent; an insecure one
    // does not.
    LookupStatus chain_status = LookupStatus::error;
    std::string canonical_name;  // where the CNAME chain ends (lower case, no final dot); "" if unknown
};

// TS002 §19.1 discovery records (RFC 3403 NAPTR, RFC 2782 SRV). Names are lower case without the final dot,
// "." for the root (an SRV target "." means: no such service).
struct NaptrRecord {
    uint16_t order = 0;
    uint16_t preference = 0;
    std::string flags;
    std::string service;
    std::string regexp;
    std::string replacement;
};

struct SrvRecord {
    uint16_t priority = 0;
    uint16_t weight = 0;
    uint16_t port = 0;
    std::string target;
};

struct RecordSetResult {
    LookupStatus status = LookupStatus::error;
    uint16_t type = 0;                // 35 NAPTR or 33 SRV
    std::vector<NaptrRecord> naptr;   // only for secure
    std::vector<SrvRecord> srv;       // only for secure
    uint32_t ttl = 0;
    std::string detail;
};

// A TlsaResult or AddressResult that carries only a failure status and its cause.
template <typename Result>
Result lookup_failure(LookupStatus status, std::string detail) {
    Result result;
    result.status = status;
    result.detail = std::move(detail);
    return result;
}

}  // namespace dance::dns
