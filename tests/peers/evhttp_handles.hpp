// Owning handles for the libevent HTTP objects the peers use.
#pragma once

#include <memory>

#include <event2/http.h>

#include "proxy/libevent_handles.hpp"

namespace dance::peers {

using proxy::EventBasePtr;
using proxy::EventPtr;
using proxy::LibeventDeleter;
using EvhttpPtr = std::unique_ptr<evhttp, LibeventDeleter<evhttp_free>>;
using EvhttpConnectionPtr = std::unique_ptr<evhttp_connection, LibeventDeleter<evhttp_connection_free>>;
using EvhttpUriPtr = std::unique_ptr<evhttp_uri, LibeventDeleter<evhttp_uri_free>>;

}  // namespace dance::peers
