// Closing sockets after a fatal alert without destroying the alert.
//
// If unread bytes sit in our receive buffer when we close(), the kernel answers with RST, and the peer's
// kernel may drop the alert we just sent before the peer reads it. In TLS 1.3 a client learns that we
// rejected its certificate only from that alert, so we shut down our side, discard what the peer still
// sends for a short while, and close after its FIN or the time limit.
#pragma once

#include <list>

#include "base/c_handles.hpp"

namespace dance::proxy {

class LingeringCloser {
public:
    explicit LingeringCloser(event_base* base) : base_(base) {}
    ~LingeringCloser();
    LingeringCloser(const LingeringCloser&) = delete;
    LingeringCloser& operator=(const LingeringCloser&) = delete;

    void close(evutil_socket_t fd);
    size_t lingering() const { return sockets_.size(); }

private:
    struct Lingering {
        LingeringCloser* owner;
        evutil_socket_t fd;
        int reads_left;
        EventPtr event;
        std::list<Lingering>::iterator position;
    };
    static void on_event(evutil_socket_t fd, short what, void* entry);
    void finish(Lingering& entry);

    event_base* base_;
    std::list<Lingering> sockets_;
};

}  // namespace dance::proxy
