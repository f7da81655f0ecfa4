#include "base/loop_mailbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace dance {

std::shared_ptr<LoopMailbox> LoopMailbox::create(event_base* base) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return nullptr;
    std::shared_ptr<LoopMailbox> mailbox(new LoopMailbox(fd));
    mailbox->event_.reset(event_new(base, fd, EV_READ | EV_PERSIST, &LoopMailbox::on_readable, mailbox.get()));
    if (!mailbox->event_ || event_add(mailbox->event_.get(), nullptr) != 0) return nullptr;
    return mailbox;
}

LoopMailbox::LoopMailbox(int fd) : fd_(fd) {}

LoopMailbox::~LoopMailbox() {
    event_.reset();
    ::close(fd_);
}

bool LoopMailbox::post(Task task) {
    std::unique_lock lock(mutex_);
    if (closed_) return false;
    bool was_empty = queue_.empty();
    queue_.push_back(std::move(task));
    lock.unlock();
    if (was_empty) {
        uint64_t one = 1;
        // Cannot fail short of counter overflow; a failed write still leaves earlier wake-ups pending.
        [[maybe_unused]] ssize_t written = ::write(fd_, &one, sizeof one);
    }
    return true;
}

void LoopMailbox::close() {
    std::vector<Task> dropped;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        dropped.swap(queue_);
    }
    event_.reset();
}

void LoopMailbox::on_readable(evutil_socket_t fd, short, void* self) {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t got = ::read(fd, &count, sizeof count);
    // A task may destroy the mailbox's owner; keep the mailbox alive until the batch is done.
    auto keep_alive = static_cast<LoopMailbox*>(self)->shared_from_this();
    keep_alive->run_queued();
}

void LoopMailbox::run_queued() {
    std::vector<Task> tasks;
    {
        std::lock_guard lock(mutex_);
        tasks.swap(queue_);
    }
    for (auto& task : tasks) {
        {
            std::lock_guard lock(mutex_);
            if (closed_) return;
        }
        task();
    }
}

}  // namespace dance
