#include "cli/heap_allocator.hpp"

#ifdef DANCE_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace dance::cli {

std::string heap_allocator_name() {
#ifdef DANCE_WITH_JEMALLOC
    // Asking jemalloc itself also proves that its malloc is the one linked, not glibc's.
    const char* version = nullptr;
    size_t size = sizeof(version);
    if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 && version != nullptr) {
        std::string full(version);  // "5.3.0-0-g<commit>"
        return "jemalloc " + full.substr(0, full.find('-'));
    }
    return "jemalloc";
#else
    return "glibc malloc";
#endif
}

}  // namespace dance::cli
