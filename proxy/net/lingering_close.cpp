#include "proxy/net/lingering_close.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace dance::proxy {
namespace {

constexpr int reads_allowed = 16;
constexpr timeval linger_limit{1, 0};

}  // namespace

LingeringCloser::~LingeringCloser() {
    for (Lingering& entry : sockets_) {
        entry.event.reset();
        evutil_closesocket(entry.fd);
    }
}

void LingeringCloser::close(evutil_socket_t fd) {
    ::shutdown(fd, SHUT_WR);
    sockets_.push_front(Lingering{this, fd, reads_allowed, nullptr, {}});
    Lingering& entry = sockets_.front();
    entry.position = sockets_.begin();
    entry.event.reset(event_new(base_, fd, EV_READ | EV_PERSIST, on_event, &entry));
    if (!entry.event || event_add(entry.event.get(), &linger_limit) != 0) finish(entry);
}

void LingeringCloser::on_event(evutil_socket_t fd, short what, void* argument) {
    auto& entry = *static_cast<Lingering*>(argument);
    if (what & EV_READ) {
        char discard[4096];
        ssize_t received = ::recv(fd, discard, sizeof discard, MSG_DONTWAIT);
        bool more = received > 0 || (received < 0 && (errno == EAGAIN || errno == EINTR));
        if (more && --entry.reads_left > 0) return;
    }
    entry.owner->finish(entry);
}

void LingeringCloser::finish(Lingering& entry) {
    evutil_socket_t fd = entry.fd;
    sockets_.erase(entry.position);  // frees the event, also when called from its own callback
    evutil_closesocket(fd);
}

}  // namespace dance::proxy
