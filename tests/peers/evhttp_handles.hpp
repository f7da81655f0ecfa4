// Owning handles for the libevent HTTP objects the peers use.
#pragma once

#include <memory>

#include <event2/http.h>

#include "base/c_handles.hpp"

namespace dance::peers {

using dance::EventBasePtr;
using dance::EventPtr;
using EvhttpPtr = std::unique_ptr<evhttp, FreeWith<evhttp_free>>;
using EvhttpConnectionPtr = std::unique_ptr<evhttp_connection, FreeWith<evhttp_connection_free>>;
using EvhttpUriPtr = std::unique_ptr<evhttp_uri, FreeWith<evhttp_uri_free>>;

}  // namespace dance::peers
