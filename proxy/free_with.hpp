// A unique_ptr deleter that calls a C library's free function: FreeWith<event_free>, FreeWith<SSL_free>.
#pragma once

namespace dance::proxy {

template <auto free_function>
struct FreeWith {
    template <typename T>
    void operator()(T* handle) const {
        free_function(handle);
    }
};

}  // namespace dance::proxy
