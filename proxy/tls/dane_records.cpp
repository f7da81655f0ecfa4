#include "proxy/tls/dane_records.hpp"

#include <openssl/err.h>

#include "proxy/tls/tls_context.hpp"

namespace dance::proxy {

DaneRecordsApplied apply_tlsa_records(SSL* ssl, const std::string& name, std::span<const dns::TlsaRecord> records,
                                      bool pkix_usages) {
    DaneRecordsApplied applied;
    if (SSL_dane_enable(ssl, name.c_str()) <= 0) {
        applied.error = "SSL_dane_enable: " + take_openssl_error();
        return applied;
    }
    SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    for (const dns::TlsaRecord& record : records) {
        if (record.usage < 2 && !pkix_usages) continue;
        if (SSL_dane_tlsa_add(ssl, record.usage, record.selector, record.matching_type, record.data.data(),
                              record.data.size()) > 0) {
            ++applied.usable;
        }
    }
    ERR_clear_error();  // unusable records leave errors behind
    return applied;
}

}  // namespace dance::proxy
