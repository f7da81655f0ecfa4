// The one list of TLS alerts by which a server says it does not accept our certificate or identity, used
// wherever our side reads an alert: during the handshake (TlsConnector) and on the first read after it (in
// TLS 1.3 a client's rejection arrives there).
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace dance::proxy {

constexpr bool is_peer_rejection_alert(int alert) {
    switch (alert) {
        case SSL_AD_HANDSHAKE_FAILURE:
        case SSL_AD_BAD_CERTIFICATE:
        case SSL_AD_UNSUPPORTED_CERTIFICATE:
        case SSL_AD_CERTIFICATE_REVOKED:
        case SSL_AD_CERTIFICATE_EXPIRED:
        case SSL_AD_CERTIFICATE_UNKNOWN:
        case SSL_AD_UNKNOWN_CA:
        case SSL_AD_ACCESS_DENIED:
        case SSL_AD_CERTIFICATE_REQUIRED:
        case SSL_AD_DECODE_ERROR:  // the server could not decode our dane_clientid
            return true;
        default:
            return false;
    }
}

// An OpenSSL error queue entry that records a received alert (reason = SSL_AD_REASON_OFFSET + alert).
inline bool is_peer_rejection(unsigned long openssl_error) {
    return ERR_GET_LIB(openssl_error) == ERR_LIB_SSL &&
           is_peer_rejection_alert(ERR_GET_REASON(openssl_error) - SSL_AD_REASON_OFFSET);
}

}  // namespace dance::proxy
