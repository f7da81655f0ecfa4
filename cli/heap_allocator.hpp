// Which heap allocator the binary runs on, for --version. The container image links jemalloc
// (-DDANCE_ALLOCATOR=jemalloc): after a burst of connections glibc's malloc spends far more CPU searching
// bins full of freed memory (tests/bench/README.md, "The allocator after a connection spike").
#pragma once

#include <string>

namespace dance::cli {

std::string heap_allocator_name();

}  // namespace dance::cli
