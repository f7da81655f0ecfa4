// One TLSA record (RFC 6698) and its presentation form.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dance::dns {

struct TlsaRecord {
    uint8_t usage = 0;          // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
    uint8_t selector = 0;       // 0 full certificate, 1 SubjectPublicKeyInfo
    uint8_t matching_type = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
    std::vector<uint8_t> data;

    std::string parameters() const;  // "3 1 1"
    std::string to_string() const;   // "3 1 1 ab12..." (lower-case hex)
    bool operator==(const TlsaRecord&) const = default;
};

// The TLSA owner name of a TLS server (RFC 6698 §3): _<port>._tcp.<host>.
inline std::string tlsa_owner_name(const std::string& host, uint16_t port) {
    return "_" + std::to_string(port) + "._tcp." + host;
}

}  // namespace dance::dns
