// Owning handles for libevent objects.
#pragma once

#include <memory>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "proxy/free_with.hpp"

namespace dance::proxy {

template <auto free_function>
using LibeventDeleter = FreeWith<free_function>;

using EventBasePtr = std::unique_ptr<event_base, LibeventDeleter<event_base_free>>;
using EventPtr = std::unique_ptr<event, LibeventDeleter<event_free>>;
using BuffereventPtr = std::unique_ptr<bufferevent, LibeventDeleter<bufferevent_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, LibeventDeleter<evconnlistener_free>>;

}  // namespace dance::proxy
