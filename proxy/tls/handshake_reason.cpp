#include "proxy/tls/handshake_reason.hpp"

namespace dance::proxy {

std::string_view dns_failure_reason(dns::LookupStatus status) {
    switch (status) {
        case dns::LookupStatus::insecure: return "dns_insecure";
        case dns::LookupStatus::bogus: return "dns_bogus";
        case dns::LookupStatus::nxdomain: return "dns_nxdomain";
        case dns::LookupStatus::nodata: return "dns_nodata";  // also: secure but no usable record
        case dns::LookupStatus::timeout: return "dns_timeout";
        case dns::LookupStatus::secure:
        case dns::LookupStatus::error: break;
    }
    return "dns_error";
}

}  // namespace dance::proxy
