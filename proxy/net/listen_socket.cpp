#include "proxy/net/listen_socket.hpp"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace dance::proxy {

AcceptingSocket::AcceptingSocket(OnAccept on_accept, std::function<void()> on_accept_error)
    : on_accept_(std::move(on_accept)), on_accept_error_(std::move(on_accept_error)) {}

bool AcceptingSocket::listen(event_base* base, const config::HostPort& address, std::string& error) {
    sockaddr_storage storage{};
    int length = sizeof storage;
    std::string text = address.to_string();
    if (evutil_parse_sockaddr_port(text.c_str(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
        error = "not an IP address and port: " + text;
        return false;
    }
    constexpr unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT |
                               LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DEFERRED_ACCEPT;
    listener_.reset(evconnlistener_new_bind(base, &AcceptingSocket::accepted, this, flags, 1024,
                                            reinterpret_cast<sockaddr*>(&storage), length));
    if (!listener_) {
        error = "cannot listen on " + text + ": " + std::strerror(errno);
        return false;
    }
    evconnlistener_set_error_cb(listener_.get(), &AcceptingSocket::accept_failed);
    resume_timer_.reset(evtimer_new(base, &AcceptingSocket::resume, this));
    return true;
}

void AcceptingSocket::accepted(evconnlistener*, evutil_socket_t fd, sockaddr* peer, int, void* self) {
    static_cast<AcceptingSocket*>(self)->on_accept_(fd, peer);
}

namespace {

// Other accept() errors (ECONNABORTED, ...) concern one connection: accepting goes on.
bool out_of_resources(int error) { return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM; }

void resume_listener(evutil_socket_t, short, void* listener) {
    evconnlistener_enable(static_cast<evconnlistener*>(listener));
}

void pause_foreign_listener(evconnlistener* listener, void*) {
    if (!out_of_resources(EVUTIL_SOCKET_ERROR())) return;
    evconnlistener_disable(listener);
    event_base_once(evconnlistener_get_base(listener), -1, EV_TIMEOUT, resume_listener, listener,
                    &AcceptingSocket::accept_backoff);
}

}  // namespace

void back_off_when_out_of_descriptors(evconnlistener* listener) {
    evconnlistener_set_error_cb(listener, &pause_foreign_listener);
}

void AcceptingSocket::accept_failed(evconnlistener*, void* self) {
    auto& me = *static_cast<AcceptingSocket*>(self);
    int error = EVUTIL_SOCKET_ERROR();
    if (me.on_accept_error_) me.on_accept_error_();
    if (!out_of_resources(error)) return;
    evconnlistener_disable(me.listener_.get());
    evtimer_add(me.resume_timer_.get(), &accept_backoff);
}

void AcceptingSocket::resume(evutil_socket_t, short, void* self) {
    evconnlistener_enable(static_cast<AcceptingSocket*>(self)->listener_.get());
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
