// Hands TLSA records to OpenSSL's DANE verifier for one connection, the same way on both sides.
#pragma once

#include <span>
#include <string>

#include <openssl/ssl.h>

#include "dns/tlsa_record.hpp"

namespace dance::proxy {

struct DaneRecordsApplied {
    int usable = 0;     // records OpenSSL accepted; 0 means it would fall back to PKIX: refuse
    std::string error;  // SSL_dane_enable failed
};

// SSL_dane_enable(ssl, name), no name checks for DANE-EE (RFC 7671 §5.1), then every record OpenSSL can use.
// PKIX usages (0, 1) are skipped unless `pkix_usages` (they need a configured trust store).
DaneRecordsApplied apply_tlsa_records(SSL* ssl, const std::string& name, std::span<const dns::TlsaRecord> records,
                                      bool pkix_usages);

}  // namespace dance::proxy
