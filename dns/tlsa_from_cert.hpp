// The TLSA record (RFC 6698 section 2.1) that matches a certificate: what to publish, and what a
// peer's certificate must match.
#pragma once

#include <cstdint>
#include <optional>

#include <openssl/x509.h>

#include "dns/tlsa_record.hpp"

namespace dance::dns {

// usage 0..3 is copied into the record as is; selector 0 = full certificate (DER), 1 =
// SubjectPublicKeyInfo (DER); matching 0 = the DER itself, 1 = SHA-256, 2 = SHA-512.
// Throws std::invalid_argument for a usage, selector or matching type out of range, and
// std::runtime_error when OpenSSL cannot encode or hash the certificate.
TlsaRecord tlsa_for_certificate(X509* certificate, uint8_t usage, uint8_t selector, uint8_t matching);

}  // namespace dance::dns
