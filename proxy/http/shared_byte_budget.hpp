// Bytes buffered for a group of connections (e.g. the unauthenticated clients of one
// listener, over all workers), held under one limit. Each holder keeps its own share and moves it with
// resize(); the budget is thread-safe.
#pragma once

#include <atomic>
#include <cstddef>

namespace dance::proxy {

class SharedByteBudget {
public:
    // Moves `held` to `wanted`. Shrinking always succeeds; growing fails (and `held` stays) when the group
    // would exceed `limit`.
    bool resize(std::size_t& held, std::size_t wanted, std::size_t limit) {
        if (wanted <= held) {
            used_.fetch_sub(held - wanted);
            held = wanted;
            return true;
        }
        std::size_t growth = wanted - held;
        if (used_.fetch_add(growth) + growth > limit) {
            used_.fetch_sub(growth);
            return false;
        }
        held = wanted;
        return true;
    }
    // Moves `held` to `wanted` whatever the limit: for bytes already in memory that must stay there (answers
    // on their way out). The group's later growth is then refused until it is back under its limit.
    void force(std::size_t& held, std::size_t wanted) {
        if (wanted >= held) used_.fetch_add(wanted - held);
        else used_.fetch_sub(held - wanted);
        held = wanted;
    }
    void release(std::size_t& held) { resize(held, 0, 0); }
    std::size_t used() const { return used_.load(); }

private:
    std::atomic<std::size_t> used_{0};
};

}  // namespace dance::proxy
