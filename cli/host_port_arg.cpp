#include "cli/host_port_arg.hpp"

#include <netdb.h>

#include <stdexcept>

#include <event2/util.h>

namespace dance::cli {

std::optional<ResolvedEndpoint> resolve_host_port(const std::string& text, std::string& error) {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size()) {
        error = "expected HOST:PORT, got \"" + text + "\"";
        return std::nullopt;
    }
    ResolvedEndpoint endpoint;
    endpoint.host = text.substr(0, colon);
    if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
        endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
    }
    try {
        int port = std::stoi(text.substr(colon + 1));
        if (port < 1 || port > 65535) throw std::out_of_range("port");
        endpoint.port = static_cast<uint16_t>(port);
    } catch (const std::exception&) {
        error = "bad port in \"" + text + "\"";
        return std::nullopt;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(endpoint.host.c_str(), nullptr, &hints, &found); rc != 0) {
        error = "cannot resolve " + endpoint.host + ": " + gai_strerror(rc);
        return std::nullopt;
    }
    char address[INET6_ADDRSTRLEN] = {};
    const void* raw = found->ai_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
    evutil_inet_ntop(found->ai_family, raw, address, sizeof address);
    freeaddrinfo(found);
    endpoint.address = address;
    return endpoint;
}

}  // namespace dance::cli
