// Moves log output off the event-loop threads: while an AsyncLogWriter exists, log lines are queued in
// memory and a writer thread writes them to the file descriptor (stderr by default). A stalled consumer
// (a full pipe to journald or a container runtime) then costs dropped lines, never a blocked worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace dance::proxy::log {

class AsyncLogWriter {
public:
    // Installs itself as the log sink. Lines arriving while max_queued_bytes are waiting are dropped and
    // counted; a "log_lines_dropped" line reports them once output flows again.
    explicit AsyncLogWriter(std::size_t max_queued_bytes = 4 * 1024 * 1024, int fd = 2);
    AsyncLogWriter(const AsyncLogWriter&) = delete;
    AsyncLogWriter& operator=(const AsyncLogWriter&) = delete;
    ~AsyncLogWriter();  // restores the synchronous stderr sink, writes what is queued, joins

    uint64_t dropped_lines() const { return dropped_total_.load(); }

private:
    void enqueue(std::string_view line);
    void write_loop();
    void write_all(std::string_view bytes);

    const std::size_t max_queued_bytes_;
    const int fd_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string queued_;
    uint64_t dropped_since_report_ = 0;
    bool stopping_ = false;
    bool writer_idle_ = false;  // waiting on wake_: only then does a new line need a notify
    std::atomic<uint64_t> dropped_total_{0};
    std::thread thread_;
};

}  // namespace dance::proxy::log
