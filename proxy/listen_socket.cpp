#include "proxy/listen_socket.hpp"

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
    if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        evutil_inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
    }
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    evutil_inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
}

}  // namespace dance::proxy
