// In-memory TLS identities for unit tests: a fresh P-256 key and a self-signed certificate.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/c_handles.hpp"

namespace dance::proxy::testing {

struct Identity {
    EvpPkeyPtr key;
    X509Ptr certificate;
};

inline Identity make_self_signed(const char* common_name) {
    Identity identity{EvpPkeyPtr(EVP_EC_gen("P-256")), X509Ptr(X509_new())};
    X509* cert = identity.certificate.get();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, identity.key.get());
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, identity.key.get(), EVP_sha256());
    return identity;
}

}  // namespace dance::proxy::testing
