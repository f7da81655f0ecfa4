// Which heap allocator the binary runs on, for --version. The container image links jemalloc
// (-DDANCE_ALLOCATOR=jemalloc): glibc's malloc stays slower for good after a burst of connections has
// fragmented its bins (tests/bench/README.md, "The allocator after a connection spike").
#pragma once

#include <string>

namespace dance::cli {

std::string heap_allocator_name();

}  // namespace dance::cli
