// One outgoing TLS 1.3 connection: TCP connect, handshake with our DANE client identity, server
// authentication by DANE TLSA records (or PKIX), all on the event loop. The client side of `probe` and of
// the outbound listener's upstream pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/c_handles.hpp"
#include "dns/tlsa_record.hpp"
#include "proxy/tls/dane_clientid.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {

enum class ServerVerification { dane, pkix, none };

struct TlsConnectTarget {
    std::string server_name;  // SNI, DANE base domain and PKIX reference name
    std::string address;      // IPv4 or IPv6 literal
    uint16_t port = 0;
    std::string client_id;    // our TLSA owner name for dane_clientid
    ServerVerification verification = ServerVerification::dane;
    std::vector<dns::TlsaRecord> server_tlsa;  // with ServerVerification::dane
    uint32_t timeout_ms = 8000;                // connect + handshake
    bool require_offer = true;                 // a server that does not offer dane_clientid is refused
};

struct TlsConnectResult {
    HandshakeResult reason = HandshakeResult::tls_error;  // ok, connect_failed, server_tlsa_mismatch, no_offer, timeout, tls_error
    std::string detail;
    BuffereventPtr connection;     // established, owns socket and SSL
    bool server_offered = false;   // the CertificateRequest carried dane_clientid
    bool client_name_sent = false;
    bool raw_public_key_sent = false;  // our credential was an RFC 7250 raw public key, not our certificate
    std::string server_tlsa_used;  // "3 1 1" when DANE authenticated the server
    double seconds = 0;
};

class TlsConnectAttempt {
public:
    virtual ~TlsConnectAttempt() = default;  // destroying it cancels; the callback is not called then
};

using TlsConnectCallback = std::function<void(TlsConnectResult)>;

std::unique_ptr<TlsConnectAttempt> connect_tls(event_base* base, SSL_CTX* ctx, TlsConnectTarget target,
                                               TlsConnectCallback done);

}  // namespace dance::proxy
