#include "proxy/tls/dane_clientid.hpp"

namespace dance::proxy {
namespace {

// A raw public key (RFC 7250, OpenSSL 3.2+) travels in a Certificate message of its own context; its one
// entry carries the extension like a leaf certificate does.
#ifdef SSL_EXT_TLS1_3_RAW_PUBLIC_KEY
constexpr unsigned int raw_public_key_context = SSL_EXT_TLS1_3_RAW_PUBLIC_KEY;
#else
constexpr unsigned int raw_public_key_context = 0;
#endif

constexpr unsigned int server_contexts = SSL_EXT_TLS1_3_ONLY | SSL_EXT_TLS1_3_CERTIFICATE_REQUEST |
                                         SSL_EXT_TLS1_3_CERTIFICATE | raw_public_key_context;
constexpr unsigned int client_contexts = server_contexts;

bool is_leaf_credential(unsigned int context, size_t chainidx) {
    return chainidx == 0 && (context == SSL_EXT_TLS1_3_CERTIFICATE ||
                             (raw_public_key_context != 0 && context == raw_public_key_context));
}

int server_handler_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int client_identity_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The server's offer: a zero-length ClientName.
constexpr unsigned char empty_client_name[] = {0x00};

int server_add(SSL*, unsigned int, unsigned int context, const unsigned char** out, size_t* outlen, X509*,
               size_t, int*, void*) {
    if (context != SSL_EXT_TLS1_3_CERTIFICATE_REQUEST) return 0;
    *out = empty_client_name;
    *outlen = sizeof empty_client_name;
    return 1;
}

int server_parse(SSL* ssl, unsigned int, unsigned int context, const unsigned char* in, size_t inlen, X509*,
                 size_t chainidx, int* alert, void*) {
    if (!is_leaf_credential(context, chainidx)) return 1;  // only the leaf (or the raw key) carries it
    auto* handler = static_cast<ServerNameHandler*>(SSL_get_ex_data(ssl, server_handler_index()));
    if (handler == nullptr) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return 0;
    }
    return handler->on_client_name(ssl, parse_client_name(in, inlen), alert);
}

ClientIdentity* client_identity(SSL* ssl) {
    return static_cast<ClientIdentity*>(SSL_get_ex_data(ssl, client_identity_index()));
}

int client_add(SSL* ssl, unsigned int, unsigned int context, const unsigned char** out, size_t* outlen, X509*,
               size_t chainidx, int*, void*) {
    ClientIdentity* identity = client_identity(ssl);
    if (!is_leaf_credential(context, chainidx) || identity == nullptr || identity->encoded_name.size() < 2) {
        return 0;
    }
    *out = identity->encoded_name.data();
    *outlen = identity->encoded_name.size();
    identity->name_sent = true;
    return 1;
}

// Accepts both the current offer (one 0x00 byte) and older drafts' empty extension_data.
int client_parse(SSL* ssl, unsigned int, unsigned int context, const unsigned char* in, size_t inlen, X509*,
                 size_t, int* alert, void*) {
    if (context != SSL_EXT_TLS1_3_CERTIFICATE_REQUEST) return 1;
    if (inlen != 0 && parse_client_name(in, inlen).kind == ClientNameKind::malformed) {
        *alert = SSL_AD_DECODE_ERROR;
        return 0;
    }
    if (ClientIdentity* identity = client_identity(ssl)) identity->server_offered = true;
    return 1;
}

}  // namespace

std::vector<uint8_t> encode_client_name(std::string_view name) {
    if (name.size() > 255) return {};
    std::vector<uint8_t> encoded;
    encoded.reserve(name.size() + 1);
    encoded.push_back(static_cast<uint8_t>(name.size()));
    encoded.insert(encoded.end(), name.begin(), name.end());
    return encoded;
}

ParsedClientName parse_client_name(const unsigned char* data, size_t length) {
    if (length == 0 || data[0] != length - 1) return {ClientNameKind::malformed, ""};
    if (length == 1) return {ClientNameKind::empty, ""};
    return {ClientNameKind::name, std::string(reinterpret_cast<const char*>(data + 1), length - 1)};
}

bool install_server_extension(SSL_CTX* ctx, uint16_t codepoint) {
    return SSL_CTX_add_custom_ext(ctx, codepoint, server_contexts, server_add, nullptr, nullptr, server_parse,
                                  nullptr) == 1;
}

bool install_client_extension(SSL_CTX* ctx, uint16_t codepoint) {
    return SSL_CTX_add_custom_ext(ctx, codepoint, client_contexts, client_add, nullptr, nullptr, client_parse,
                                  nullptr) == 1;
}

void attach_server_name_handler(SSL* ssl, ServerNameHandler* handler) {
    SSL_set_ex_data(ssl, server_handler_index(), handler);
}

void attach_client_identity(SSL* ssl, ClientIdentity* identity) {
    SSL_set_ex_data(ssl, client_identity_index(), identity);
}

}  // namespace dance::proxy
