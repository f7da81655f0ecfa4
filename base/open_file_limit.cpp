#include "base/open_file_limit.hpp"

#include <sys/resource.h>

namespace dance {

OpenFileLimit raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
    OpenFileLimit result{limit.rlim_cur, limit.rlim_cur, limit.rlim_max};
    if (limit.rlim_cur >= limit.rlim_max) return result;
    rlimit raised{limit.rlim_max, limit.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) result.now = raised.rlim_cur;
    return result;
}

}  // namespace dance
