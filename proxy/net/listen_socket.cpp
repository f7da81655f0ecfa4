#include "proxy/net/listen_socket.hpp"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace dance::proxy {

ListenerPtr listen_on(event_base* base, const config::HostPort& address, evconnlistener_cb on_accept, void* arg,
                      std::string& error) {
    sockaddr_storage storage{};
    int length = sizeof storage;
    std::string text = address.to_string();
    if (evutil_parse_sockaddr_port(text.c_str(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
        error = "not an IP address and port: " + text;
        return nullptr;
    }
    constexpr unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT |
                               LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DEFERRED_ACCEPT;
    ListenerPtr listener(
        evconnlistener_new_bind(base, on_accept, arg, flags, 1024, reinterpret_cast<sockaddr*>(&storage), length));
    if (!listener) error = "cannot listen on " + text + ": " + std::strerror(errno);
    return listener;
}

void set_no_delay(evutil_socket_t fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string peer_to_string(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = {};
    const bool v6 = address->sa_family == AF_INET6;
    uint16_t port = 0;
    if (v6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        port = ntohs(in6->sin6_port);
    } else {
        const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
        evutil_inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
        port = ntohs(in4->sin_port);
    }
    // Appended piecewise: GCC 12 reports a false -Wrestrict overlap for "[" + std::string(...) (bug 105329).
    std::string peer;
    peer.reserve(sizeof text + 8);
    if (v6) peer += '[';
    peer += text;
    if (v6) peer += ']';
    peer += ':';
    peer += std::to_string(port);
    return peer;
}

}  // namespace dance::proxy
