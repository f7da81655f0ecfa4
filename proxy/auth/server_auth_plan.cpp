#include "proxy/auth/server_auth_plan.hpp"

namespace dance::proxy {

ServerAuthPlan plan_server_auth(config::ServerAuth mode, const dns::TlsaResult& tlsa) {
    if (mode == config::ServerAuth::pkix) return ServerAuthPlan::pkix;
    if (tlsa.authenticates()) return ServerAuthPlan::dane;
    if (mode == config::ServerAuth::dane) return ServerAuthPlan::refuse;
    switch (tlsa.status) {
        case dns::LookupStatus::insecure:
        case dns::LookupStatus::nxdomain:
        case dns::LookupStatus::nodata: return ServerAuthPlan::pkix;
        default: return ServerAuthPlan::refuse;  // bogus, timeout, error: never downgrade
    }
}

HandshakeResult refused_plan_result(const dns::TlsaResult& tlsa) {
    if (tlsa.status == dns::LookupStatus::secure) return HandshakeResult::server_tlsa_mismatch;
    return dns_failure_result(tlsa.status);
}

std::string server_tlsa_owner(const config::HostPort& server) {
    return dns::tlsa_owner_name(server.host, server.port);
}

}  // namespace dance::proxy
