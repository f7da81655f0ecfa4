// The TLS "DANE Client Identity" extension (draft-ietf-dance-client-auth): wire format and registration.
//
// Server: offers the extension in its CertificateRequest with a zero-length ClientName (one 0x00 byte) and
// hands the ClientName found in the client's leaf CertificateEntry to the connection's ServerNameHandler.
// Client: sends its ClientName in the leaf CertificateEntry, and only when the CertificateRequest offered it
// (OpenSSL sends Certificate-context custom extensions only if they were received in the CertificateRequest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

namespace dance::proxy {

inline constexpr uint16_t default_dane_clientid_codepoint = 65498;

// ClientName<0..255>: one length byte, then the name in presentation format.
std::vector<uint8_t> encode_client_name(std::string_view name);

enum class ClientNameKind { empty, name, malformed };
struct ParsedClientName {
    ClientNameKind kind;
    std::string name;
};
ParsedClientName parse_client_name(const unsigned char* data, size_t length);

// Per-connection server-side receiver of the client's extension, attached with attach_server_name_handler.
class ServerNameHandler {
public:
    virtual ~ServerNameHandler() = default;
    // Called for the leaf certificate only. Return 1 to continue, 0 to abort with *alert.
    virtual int on_client_name(SSL* ssl, const ParsedClientName& client_name, int* alert) = 0;
};

// Per-connection client-side state, attached with attach_client_identity.
struct ClientIdentity {
    std::vector<uint8_t> encoded_name;  // encode_client_name(client_id)
    bool server_offered = false;
    bool name_sent = false;
};

bool install_server_extension(SSL_CTX* ctx, uint16_t codepoint);
bool install_client_extension(SSL_CTX* ctx, uint16_t codepoint);

void attach_server_name_handler(SSL* ssl, ServerNameHandler* handler);
void attach_client_identity(SSL* ssl, ClientIdentity* identity);

}  // namespace dance::proxy
