// Turns a getdns response dict into a lookup result. Fails closed: anything not understood is `error`.
#pragma once

#include <getdns/getdns.h>

#include <cstdint>
#include <ctime>

#include "dns/lookup_result.hpp"

namespace dance::dns {

// Who validated the answer: a trusted resolver reporting the AD bit (trust-ad), or getdns itself or
// its in-process libunbound reporting a per-reply dnssec_status (validate, recursive).
enum class Validator { resolver_ad_bit, getdns_dnssec_status };

// `now` is wall-clock time, for the time left before the earliest RRSIG expiration.
TlsaResult interpret_tlsa_response(const getdns_dict* response, Validator validator, uint32_t max_ttl_s,
                                   std::time_t now);

// NAPTR (35) or SRV (33) records, classified like TLSA answers: only a validated answer is secure (with
// records), nxdomain or nodata; the ttl is bounded by max_ttl_s and the RRSIGs' expiration.
RecordSetResult interpret_records_response(const getdns_dict* response, uint16_t rrtype, Validator validator,
                                           uint32_t max_ttl_s, std::time_t now);

// `status` secure or insecure with addresses (both usable to connect), else why none; `chain_status` is the
// DNSSEC state of the whole answer, CNAMEs included (secure, insecure, bogus or error), for every outcome. The
// ttl is the shortest of every record of the answer (CNAMEs included) and every signature's remaining validity.
AddressResult interpret_address_response(const getdns_dict* response, Validator validator, std::time_t now);

}  // namespace dance::dns
