// Asynchronous, DNSSEC-validated lookups on one libevent loop.
//
// One resolver per event loop thread (getdns contexts are not thread-safe); all resolvers of a process
// share one TlsaCache. Callbacks run on the resolver's own loop thread and never from inside lookup_*().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dns/lookup_result.hpp"

struct event_base;

namespace dance::dns {

// Keeps a lookup's callback alive. Destroying it (or calling cancel()) guarantees the callback is never
// invoked afterwards; the query itself may still complete and fill the cache.
class PendingLookup {
public:
    virtual ~PendingLookup() = default;
};
using PendingLookupPtr = std::unique_ptr<PendingLookup>;

using TlsaCallback = std::function<void(const TlsaResult&)>;
using AddressCallback = std::function<void(const AddressResult&)>;
using RecordSetCallback = std::function<void(const RecordSetResult&)>;

// Told about every TLSA lookup outcome; the metrics layer implements it.
class LookupObserver {
public:
    virtual ~LookupObserver() = default;
    virtual void on_tlsa_lookup(LookupStatus status, bool cache_hit, double seconds) = 0;
};

class TlsaResolver {
public:
    virtual ~TlsaResolver() = default;

    // The name is looked up exactly as given (case-insensitive); no _port._tcp construction.
    virtual PendingLookupPtr lookup_tlsa(std::string_view owner_name, TlsaCallback callback) = 0;

    // Synchronous cache probe for the hot path: a fresh cached answer, positive or negative.
    virtual std::optional<TlsaResult> cached_tlsa(std::string_view owner_name) = 0;

    virtual PendingLookupPtr lookup_addresses(std::string_view host, AddressCallback callback) = 0;

    // One DNSSEC-validated NAPTR (35) or SRV (33) lookup, not cached (the route's connections carry its
    // lifetime). Classified as TLSA answers are: secure with records, nxdomain, nodata, insecure, bogus, ...
    virtual PendingLookupPtr lookup_records(std::string_view name, uint16_t rrtype, RecordSetCallback callback) = 0;

    // False where NAPTR/SRV answers cannot be validated safely: in `validate` mode getdns 1.6's own validator
    // aborts the process (an assertion in gldns_buffer_write_at) on a signed NAPTR answer, so a partner's zone
    // could crash us. Callers then do without them.
    virtual bool looks_up_records() const { return true; }
};

}  // namespace dance::dns
