// Time conversions used with libevent timers and for measuring durations.
#pragma once

#include <chrono>
#include <cstdint>

#include <sys/time.h>

namespace dance {

inline timeval to_timeval(std::chrono::microseconds duration) {
    if (duration.count() < 0) duration = std::chrono::microseconds(0);
    return {static_cast<time_t>(duration.count() / 1000000), static_cast<suseconds_t>(duration.count() % 1000000)};
}

// Exact for every value: getdns asks for "no timeout" with huge ones, which must not wrap to 0.
inline timeval milliseconds_to_timeval(std::uint64_t ms) {
    return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace dance
