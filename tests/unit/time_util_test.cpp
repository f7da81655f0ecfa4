#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "base/time_util.hpp"

TEST_CASE("timeval conversions: exact, never negative, no wrap for huge millisecond counts") {
    timeval a = dance::milliseconds_to_timeval(1234);
    CHECK(a.tv_sec == 1);
    CHECK(a.tv_usec == 234000);
    timeval huge = dance::milliseconds_to_timeval(std::numeric_limits<std::uint64_t>::max());
    CHECK(huge.tv_sec > 1000000000);  // getdns' "no timeout" stays far away, not 0
    timeval b = dance::to_timeval(std::chrono::microseconds(2500001));
    CHECK(b.tv_sec == 2);
    CHECK(b.tv_usec == 500001);
    timeval past = dance::to_timeval(std::chrono::microseconds(-5));
    CHECK(past.tv_sec == 0);
    CHECK(past.tv_usec == 0);
}
