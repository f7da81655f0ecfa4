// Sending what was just queued on a bufferevent in the current loop pass.
//
// bufferevent_write() only arms the write event: the bytes leave in the next pass, after one epoll_ctl to
// arm the event and another to disarm it once the buffer is drained. Activating the armed event instead
// runs libevent's own write callback (socket or OpenSSL, with its error, timeout and short-write handling)
// later in this pass. On a worker base, which batches epoll changes (make_worker_base), the arm and the
// disarm then cancel out before epoll_wait: a write that drains at once costs no epoll_ctl. A short write
// leaves the event armed, as before.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>  // ev_write: libevent 2.1 has no accessor for it
#include <event2/event.h>

namespace dance::proxy {

inline void write_now(bufferevent* connection) {
    if (evbuffer_get_length(bufferevent_get_output(connection)) == 0) return;
    // Not pending: writing is disabled or suspended, or a TLS handshake is still running. Leave it to libevent.
    if (!event_pending(&connection->ev_write, EV_WRITE, nullptr)) return;
    event_active(&connection->ev_write, EV_WRITE, 1);
}

}  // namespace dance::proxy
