#include "proxy/tls/raw_public_key.hpp"

#include <openssl/tls1.h>

namespace dance::proxy {

#if OPENSSL_VERSION_NUMBER >= 0x30200000L
namespace {
// Preference order: a raw public key first, a certificate as the fallback.
constexpr unsigned char raw_key_then_x509[] = {TLSEXT_cert_type_rpk, TLSEXT_cert_type_x509};
}  // namespace

bool enable_client_raw_public_key(SSL_CTX* ctx) {
    return SSL_CTX_set1_client_cert_type(ctx, raw_key_then_x509, sizeof raw_key_then_x509) == 1;
}

bool client_raw_public_key_negotiated(const SSL* ssl) {
    return SSL_get_negotiated_client_cert_type(ssl) == TLSEXT_cert_type_rpk;
}

bool peer_sent_raw_public_key(const SSL* ssl) {
    return SSL_get0_peer_rpk(ssl) != nullptr;
}

bool peer_sent_credential(const SSL* ssl) {
    return SSL_get0_peer_certificate(ssl) != nullptr || SSL_get0_peer_rpk(ssl) != nullptr;
}
#else
bool enable_client_raw_public_key(SSL_CTX*) { return false; }
bool client_raw_public_key_negotiated(const SSL*) { return false; }
bool peer_sent_raw_public_key(const SSL*) { return false; }
bool peer_sent_credential(const SSL* ssl) { return SSL_get0_peer_certificate(ssl) != nullptr; }
#endif

}  // namespace dance::proxy
