#include "cli/heap_allocator.hpp"

#include <cstdint>
#include <cstdlib>

#ifdef DANCE_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace dance::cli {

#ifdef DANCE_WITH_JEMALLOC
namespace {

std::string jemalloc_version() {
    const char* version = nullptr;
    size_t size = sizeof(version);
    if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) != 0 || version == nullptr) return "";
    std::string full(version);  // "5.3.0-0-g<commit>"
    return full.substr(0, full.find('-'));
}

uint64_t bytes_allocated_by_this_thread() {
    uint64_t allocated = 0;
    size_t size = sizeof(allocated);
    if (mallctl("thread.allocated", static_cast<void*>(&allocated), &size, nullptr, 0) != 0) return 0;
    return allocated;
}

// Being loaded is not enough: malloc() itself must resolve to jemalloc (link order, or a preloaded
// allocator, could hand it to another). jemalloc's per-thread counter grows only if it served the call.
bool serves_malloc() {
    const uint64_t before = bytes_allocated_by_this_thread();
    void* volatile probe = std::malloc(4096);
    const uint64_t after = bytes_allocated_by_this_thread();
    std::free(probe);
    return after >= before + 4096;
}

}  // namespace
#endif

std::string heap_allocator_name() {
#ifdef DANCE_WITH_JEMALLOC
    const std::string name = "jemalloc " + jemalloc_version();
    return serves_malloc() ? name : name + " (loaded, but malloc is not served by it)";
#else
    return "glibc malloc";
#endif
}

}  // namespace dance::cli
