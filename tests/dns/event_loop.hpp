// A libevent loop for tests: run until a condition holds or a generous deadline passes.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>

#include "base/c_handles.hpp"
#include "base/time_util.hpp"

namespace dance::dns::test {

class EventLoop {
public:
    EventLoop() : base_(event_base_new()) {
        tick_.reset(event_new(base_.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr));
        timeval every = to_timeval(std::chrono::milliseconds(10));
        event_add(tick_.get(), &every);  // wakes the loop so deadlines are checked
    }
    ~EventLoop() { tick_.reset(); }

    event_base* base() const { return base_.get(); }

    // Returns whether `done` became true before the deadline.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
        auto until = std::chrono::steady_clock::now() + deadline;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= until) return false;
            event_base_loop(base_.get(), EVLOOP_ONCE);
        }
        return true;
    }

    void run_for(std::chrono::milliseconds duration) {
        auto until = std::chrono::steady_clock::now() + duration;
        run_until([&] { return std::chrono::steady_clock::now() >= until; }, duration + std::chrono::seconds(1));
    }

private:
    struct BaseDeleter {
        void operator()(event_base* base) const { event_base_free(base); }
    };
    std::unique_ptr<event_base, BaseDeleter> base_;
    EventPtr tick_;
};

}  // namespace dance::dns::test
