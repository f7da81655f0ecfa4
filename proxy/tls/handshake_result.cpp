#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {

static_assert(to_string(HandshakeResult::connect_failed) == "connect_failed");

HandshakeResult dns_failure_result(dns::LookupStatus status) {
    switch (status) {
        case dns::LookupStatus::insecure: return HandshakeResult::dns_insecure;
        case dns::LookupStatus::bogus: return HandshakeResult::dns_bogus;
        case dns::LookupStatus::nxdomain: return HandshakeResult::dns_nxdomain;
        case dns::LookupStatus::secure:  // without a record: as good as no data
        case dns::LookupStatus::nodata: return HandshakeResult::dns_nodata;
        case dns::LookupStatus::timeout: return HandshakeResult::dns_timeout;
        case dns::LookupStatus::error: break;
    }
    return HandshakeResult::dns_error;
}

}  // namespace dance::proxy
