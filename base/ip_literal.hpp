// IPv4 and IPv6 addresses in presentation form ("127.0.0.1", "::1"): parsed once, here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace dance {

struct IpLiteral {
    int family = AF_INET;                  // AF_INET or AF_INET6
    std::array<unsigned char, 16> bytes{};  // network order; the first 4 for IPv4
    std::size_t size() const { return family == AF_INET ? 4 : 16; }
};

std::optional<IpLiteral> parse_ip_literal(std::string_view text);
bool is_ip_literal(std::string_view text);
// The literal in its canonical form ("::1" for "0:0::1"), or "" if `text` is not one.
std::string canonical_ip(std::string_view text);

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// host must be an IP literal; nullopt otherwise.
std::optional<SocketAddress> socket_address(std::string_view host, uint16_t port);

}  // namespace dance
