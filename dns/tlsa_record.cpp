#include "dns/tlsa_record.hpp"

namespace dance::dns {

std::string TlsaRecord::parameters() const {
    return std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(matching_type);
}

std::string TlsaRecord::to_string() const {
    static constexpr char hex[] = "0123456789abcdef";
    std::string text = parameters() + " ";
    text.reserve(text.size() + data.size() * 2);
    for (uint8_t byte : data) {
        text += hex[byte >> 4];
        text += hex[byte & 0x0f];
    }
    return text;
}

}  // namespace dance::dns
