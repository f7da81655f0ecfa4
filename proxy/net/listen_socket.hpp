// A listening TCP socket per worker (SO_REUSEPORT: the kernel spreads connections across workers).
#pragma once

#include <string>

#include <event2/listener.h>

#include "base/c_handles.hpp"
#include "config/config.hpp"

namespace dance::proxy {

// Binds host:port (IP literal) on `base`; null + error on failure.
ListenerPtr listen_on(event_base* base, const config::HostPort& address, evconnlistener_cb on_accept, void* arg,
                      std::string& error);

// Request/response traffic: without TCP_NODELAY, Nagle + delayed ACK can hold an answer's last segment
// for 40 ms.
void set_no_delay(evutil_socket_t fd);

// "1.2.3.4:5678" / "[::1]:5678" of an accepted peer.
std::string peer_to_string(const sockaddr* address);

}  // namespace dance::proxy
