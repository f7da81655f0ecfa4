#include "dns/getdns_event_loop.hpp"
#include "base/time_util.hpp"

#include <event2/event.h>

namespace dance::dns {
namespace {

void dispatch(evutil_socket_t, short bits, void* arg) {
    auto* event = static_cast<getdns_eventloop_event*>(arg);
    if ((bits & EV_READ) && event->read_cb) {
        event->read_cb(event->userarg);
    } else if ((bits & EV_WRITE) && event->write_cb) {
        event->write_cb(event->userarg);
    } else if ((bits & EV_TIMEOUT) && event->timeout_cb) {
        event->timeout_cb(event->userarg);
    }
}

}  // namespace

GetdnsEventLoop::GetdnsEventLoop(event_base* base) {
    static getdns_eventloop_vmt vmt = {&GetdnsEventLoop::cleanup, &GetdnsEventLoop::schedule,
                                       &GetdnsEventLoop::clear, &GetdnsEventLoop::run,
                                       &GetdnsEventLoop::run_once};
    adapter_.loop.vmt = &vmt;
    adapter_.base = base;
}

getdns_return_t GetdnsEventLoop::schedule(getdns_eventloop* loop, int fd, uint64_t timeout_ms,
                                          getdns_eventloop_event* event) {
    auto* adapter = reinterpret_cast<Adapter*>(loop);
    short bits = static_cast<short>((event->read_cb ? EV_READ | EV_PERSIST : 0) |
                                    (event->write_cb ? EV_WRITE | EV_PERSIST : 0) |
                                    (event->timeout_cb ? EV_TIMEOUT : 0));
    struct event* libevent_event =
        event_new(adapter->base, (event->read_cb || event->write_cb) ? fd : -1, bits, &dispatch, event);
    if (!libevent_event) return GETDNS_RETURN_MEMORY_ERROR;
    timeval tv = milliseconds_to_timeval(timeout_ms);
    if (event_add(libevent_event, event->timeout_cb ? &tv : nullptr) != 0) {
        event_free(libevent_event);
        return GETDNS_RETURN_GENERIC_ERROR;
    }
    event->ev = libevent_event;
    return GETDNS_RETURN_GOOD;
}

getdns_return_t GetdnsEventLoop::clear(getdns_eventloop*, getdns_eventloop_event* event) {
    if (!event->ev) return GETDNS_RETURN_GOOD;
    event_free(static_cast<struct event*>(event->ev));  // event_free also deletes it
    event->ev = nullptr;
    return GETDNS_RETURN_GOOD;
}

void GetdnsEventLoop::cleanup(getdns_eventloop*) {}  // owned by the resolver, not by getdns

void GetdnsEventLoop::run(getdns_eventloop* loop) {
    event_base_dispatch(reinterpret_cast<Adapter*>(loop)->base);
}

void GetdnsEventLoop::run_once(getdns_eventloop* loop, int blocking) {
    event_base_loop(reinterpret_cast<Adapter*>(loop)->base, EVLOOP_ONCE | (blocking ? 0 : EVLOOP_NONBLOCK));
}

}  // namespace dance::dns
