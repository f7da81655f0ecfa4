// Runs closures on one event loop's thread, posted from any thread.
//
// Uses an eventfd watched by the loop, so the event_base needs no libevent threading support.
// Closures posted after close() are dropped.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/c_handles.hpp"

namespace dance {

class LoopMailbox : public std::enable_shared_from_this<LoopMailbox> {
public:
    using Task = std::function<void()>;

    // Returns nullptr if the eventfd or its event cannot be created.
    static std::shared_ptr<LoopMailbox> create(event_base* base);
    ~LoopMailbox();
    LoopMailbox(const LoopMailbox&) = delete;
    LoopMailbox& operator=(const LoopMailbox&) = delete;

    // Thread-safe. Returns false if the mailbox is closed.
    bool post(Task task);

    // On the loop thread: stops delivery and drops queued tasks.
    void close();

private:
    explicit LoopMailbox(int fd);
    static void on_readable(evutil_socket_t fd, short events, void* self);
    void run_queued();

    int fd_;
    EventPtr event_;
    std::mutex mutex_;
    std::vector<Task> queue_;
    bool closed_ = false;
};

}  // namespace dance
