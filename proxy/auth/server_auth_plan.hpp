// How the outbound side authenticates a server, decided from its TLSA answer (RFC 7672 §2.2 semantics).
//
//   server_auth   TLSA answer                            plan
//   pkix          (not looked up)                        pkix
//   dane          secure with records                    dane
//   dane          anything else                          refuse
//   dane-or-pkix  secure with records                    dane
//   dane-or-pkix  insecure, NXDOMAIN, NODATA              pkix  (provably no TLSA: RFC 7672 allows PKIX)
//   dane-or-pkix  bogus, timeout, error, secure-but-empty refuse (never downgrade on a failure)
#pragma once

#include <string>

#include "config/config.hpp"
#include "dns/lookup_result.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {

enum class ServerAuthPlan { dane, pkix, refuse };

ServerAuthPlan plan_server_auth(config::ServerAuth mode, const dns::TlsaResult& tlsa);

// The handshake result a refused plan is counted as: server_tlsa_mismatch for a secure answer without a usable
// record, else the DNS failure (dns_bogus, dns_timeout, ...).
HandshakeResult refused_plan_result(const dns::TlsaResult& tlsa);

// The TLSA owner name of a server (RFC 6698 §3): _<port>._tcp.<host>.
std::string server_tlsa_owner(const config::HostPort& server);

}  // namespace dance::proxy
