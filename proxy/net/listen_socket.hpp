// A listening TCP socket per worker (SO_REUSEPORT: the kernel spreads connections across workers).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <event2/listener.h>

#include "base/c_handles.hpp"
#include "config/config.hpp"

namespace dance::proxy {

// A bound listener that survives running out of descriptors: when accept() fails with EMFILE, ENFILE,
// ENOBUFS or ENOMEM the pending connection stays in the kernel's queue, so the socket stays readable and a
// plain evconnlistener would spin at 100% CPU. Instead it pauses accepting for `accept_backoff`, tells
// `on_accept_error` (a metric), and tries again; it never stops for good.
class AcceptingSocket {
public:
    using OnAccept = std::function<void(evutil_socket_t fd, sockaddr* peer)>;
    static constexpr timeval accept_backoff{0, 100000};

    AcceptingSocket(OnAccept on_accept, std::function<void()> on_accept_error);
    AcceptingSocket(const AcceptingSocket&) = delete;
    AcceptingSocket& operator=(const AcceptingSocket&) = delete;

    // Binds host:port (IP literal) on `base`; false + error on failure.
    bool listen(event_base* base, const config::HostPort& address, std::string& error);

private:
    static void accepted(evconnlistener*, evutil_socket_t fd, sockaddr* peer, int, void* self);
    static void accept_failed(evconnlistener*, void* self);
    static void resume(evutil_socket_t, short, void* self);

    OnAccept on_accept_;
    std::function<void()> on_accept_error_;
    ListenerPtr listener_;
    EventPtr resume_timer_;
};

// The same back-off for a listener someone else created and owns (evhttp's, for the admin endpoint): its
// callback argument is not ours, so the pause is a one-shot event on the listener's base. The listener
// must outlive its base's loop.
void back_off_when_out_of_descriptors(evconnlistener* listener);

// Request/response traffic: without TCP_NODELAY, Nagle + delayed ACK can hold an answer's last segment
// for 40 ms.
void set_no_delay(evutil_socket_t fd);

// "1.2.3.4:5678" / "[::1]:5678" of an accepted peer.
std::string peer_to_string(const sockaddr* address);

}  // namespace dance::proxy
