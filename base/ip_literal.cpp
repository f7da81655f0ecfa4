#include "base/ip_literal.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace dance {

std::optional<IpLiteral> parse_ip_literal(std::string_view text) {
    std::string terminated(text);  // inet_pton wants a C string
    IpLiteral literal;
    if (inet_pton(AF_INET, terminated.c_str(), literal.bytes.data()) == 1) return literal;
    literal.family = AF_INET6;
    if (inet_pton(AF_INET6, terminated.c_str(), literal.bytes.data()) == 1) return literal;
    return std::nullopt;
}

bool is_ip_literal(std::string_view text) { return parse_ip_literal(text).has_value(); }

std::string canonical_ip(std::string_view text) {
    auto literal = parse_ip_literal(text);
    if (!literal) return "";
    char buffer[INET6_ADDRSTRLEN];
    return inet_ntop(literal->family, literal->bytes.data(), buffer, sizeof buffer);
}

std::optional<SocketAddress> socket_address(std::string_view host, uint16_t port) {
    auto literal = parse_ip_literal(host);
    if (!literal) return std::nullopt;
    SocketAddress address;
    if (literal->family == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        std::memcpy(&v4->sin_addr, literal->bytes.data(), 4);
        address.length = sizeof(sockaddr_in);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        std::memcpy(&v6->sin6_addr, literal->bytes.data(), 16);
        address.length = sizeof(sockaddr_in6);
    }
    return address;
}

}  // namespace dance
