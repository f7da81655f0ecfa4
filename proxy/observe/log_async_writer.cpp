#include "proxy/observe/log_async_writer.hpp"

#include <chrono>
#include <thread>

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "proxy/observe/log.hpp"

namespace dance::proxy::log {

AsyncLogWriter::AsyncLogWriter(std::size_t max_queued_bytes, int fd)
    : max_queued_bytes_(max_queued_bytes), fd_(fd), thread_([this] { write_loop(); }) {
    set_sink([this](std::string_view line) { enqueue(line); });
}

AsyncLogWriter::~AsyncLogWriter() {
    set_sink({});  // waits for any line being enqueued: the logger calls sinks under its lock
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void AsyncLogWriter::enqueue(std::string_view line) {
    {
        std::lock_guard lock(mutex_);
        if (queued_.size() + line.size() > max_queued_bytes_) {
            ++dropped_since_report_;
            dropped_total_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        queued_.append(line);
        if (!writer_idle_) return;  // the writer will find the line when it looks again
        writer_idle_ = false;
    }
    wake_.notify_one();
}

void AsyncLogWriter::write_loop() {
    std::string writing;
    for (;;) {
        uint64_t dropped = 0;
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            writer_idle_ = true;
            wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
            writer_idle_ = false;
            if (!stopping_) {
                // Let a burst of lines gather: one write and one wake-up per millisecond at most, not per line.
                lock.unlock();
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                lock.lock();
            }
            writing.swap(queued_);
            dropped = std::exchange(dropped_since_report_, 0);
            stopping = stopping_;
        }
        write_all(writing);
        writing.clear();
        if (dropped > 0) {
            write_all(format_line(current_format(), Level::warn, "log_lines_dropped", {{"lines", dropped}}));
        }
        if (stopping) {
            std::lock_guard lock(mutex_);
            if (queued_.empty()) return;
        }
    }
}

void AsyncLogWriter::write_all(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t written = ::write(fd_, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;  // the log destination is gone; nowhere to report it
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
}

}  // namespace dance::proxy::log
