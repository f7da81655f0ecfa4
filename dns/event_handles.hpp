// Owning handle for a libevent event (the dns module does not depend on proxy's handles).
#pragma once

#include <event2/event.h>

#include <chrono>
#include <memory>

namespace dance::dns {

struct EventDeleter {
    void operator()(event* ev) const { event_free(ev); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

inline timeval to_timeval(std::chrono::milliseconds duration) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
    return tv;
}

}  // namespace dance::dns
