// Owning handles for OpenSSL objects.
#pragma once

#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "proxy/free_with.hpp"

namespace dance::proxy {

template <auto free_function>
using OpenSslDeleter = FreeWith<free_function>;

using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;

// SSL_CTX is reference counted: listeners and connections share one.
using SharedSslCtx = std::shared_ptr<SSL_CTX>;
inline SharedSslCtx share_ssl_ctx(SSL_CTX* ctx) { return SharedSslCtx(ctx, SSL_CTX_free); }

}  // namespace dance::proxy
