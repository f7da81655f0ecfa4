// getdns' event loop abstraction implemented on a libevent event_base.
//
// Replaces getdns_extension_set_libevent_base(): getdns 1.6 frees that extension in
// getdns_context_destroy() *before* deleting its libunbound context, which then unregisters its
// pending events through the freed extension (a crash whenever recursive mode still has queries on
// the wire). This loop is owned by the resolver, outlives the context, and its cleanup frees nothing.
#pragma once

#include <getdns/getdns_extra.h>

struct event_base;

namespace dance::dns {

class GetdnsEventLoop {
public:
    explicit GetdnsEventLoop(event_base* base);
    GetdnsEventLoop(const GetdnsEventLoop&) = delete;
    GetdnsEventLoop& operator=(const GetdnsEventLoop&) = delete;

    // Pass to getdns_context_set_eventloop(); valid as long as this object lives.
    getdns_eventloop* loop() { return &adapter_.loop; }

private:
    struct Adapter {
        getdns_eventloop loop;  // first member: getdns hands back this pointer
        event_base* base;
    };
    static getdns_return_t schedule(getdns_eventloop* loop, int fd, uint64_t timeout_ms,
                                    getdns_eventloop_event* event);
    static getdns_return_t clear(getdns_eventloop* loop, getdns_eventloop_event* event);
    static void cleanup(getdns_eventloop* loop);
    static void run(getdns_eventloop* loop);
    static void run_once(getdns_eventloop* loop, int blocking);

    Adapter adapter_;
};

}  // namespace dance::dns
