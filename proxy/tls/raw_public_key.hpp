// RFC 7250 raw public keys in TLS 1.3 (OpenSSL 3.2 and later).
//
// A client that presents a raw public key sends its SubjectPublicKeyInfo instead of a certificate. Only a
// DANE-EE SPKI record (`3 1 x`) can match it: OpenSSL's verifier checks the key against exactly those records
// (dane_match_rpk) and refuses anything else, so a raw key is never accepted without a TLSA match.
// Each side keeps X.509 as the fallback: a peer that does not negotiate raw keys gets a certificate.
#pragma once

#include <openssl/opensslv.h>
#include <openssl/ssl.h>

namespace dance::proxy {

#if OPENSSL_VERSION_NUMBER >= 0x30200000L
inline constexpr bool raw_public_keys_supported = true;
#else
inline constexpr bool raw_public_keys_supported = false;
#endif

// Client authentication by raw public key, X.509 still possible: a server context accepts it, a client context
// offers it. False where unsupported.
bool enable_client_raw_public_key(SSL_CTX* ctx);

// The client's credential in this handshake is a raw public key (known from the hellos on): on a client, we
// send our key without the certificate; on a server, the client does.
bool client_raw_public_key_negotiated(const SSL* ssl);
// The peer authenticated (or tried to) with a raw public key in this handshake.
bool peer_sent_raw_public_key(const SSL* ssl);
// The peer sent a credential: a certificate or a raw public key.
bool peer_sent_credential(const SSL* ssl);

}  // namespace dance::proxy
