// The reloadable part of a listener: an immutable snapshot that connections take when they start. A reload
// builds new snapshots and swaps them in; established connections keep the one they began with.
#pragma once

#include <atomic>
#include <memory>

namespace dance {

template <typename Settings>
class SettingsSlot {
public:
    explicit SettingsSlot(std::shared_ptr<const Settings> initial) : current_(std::move(initial)) {}
    std::shared_ptr<const Settings> get() const { return current_.load(std::memory_order_acquire); }
    void set(std::shared_ptr<const Settings> next) { current_.store(std::move(next), std::memory_order_release); }

private:
    std::atomic<std::shared_ptr<const Settings>> current_;
};

}  // namespace dance
