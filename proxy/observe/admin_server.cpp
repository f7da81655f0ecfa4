#include "proxy/observe/admin_server.hpp"

#include <sys/socket.h>

#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <nlohmann/json.hpp>

#include "base/c_handles.hpp"
#include "proxy/net/listen_socket.hpp"

namespace dance::proxy {

using EvhttpPtr = std::unique_ptr<evhttp, FreeWith<evhttp_free>>;

struct AdminServer::Loop {
    EventBasePtr base;  // declared first: destroyed last
    EvhttpPtr http;
    // Activated by stop(). Unlike event_base_loopbreak(), an activation made before the thread reaches
    // event_base_dispatch() is not lost.
    EventPtr stop_event;
};

namespace {

void enable_libevent_threads() {
    static std::once_flag once;
    std::call_once(once, [] { evthread_use_pthreads(); });
}

uint16_t local_port(evutil_socket_t fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
    if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    return 0;
}

void reply(evhttp_request* request, int status, std::string_view reason, std::string_view content_type,
           std::string_view body) {
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", std::string(content_type).c_str());
    evhttp_add_header(headers, "Cache-Control", "no-store");
    evbuffer* buffer = evhttp_request_get_output_buffer(request);
    evbuffer_add(buffer, body.data(), body.size());
    evhttp_send_reply(request, status, std::string(reason).c_str(), nullptr);
}

std::string_view request_path(evhttp_request* request) {
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
    const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
    return path ? std::string_view(path) : std::string_view();
}

}  // namespace

// Runs on the admin thread only.
struct AdminRequestHandlers {
    static void dispatch(evhttp_request* request, void* context) {
        auto& server = *static_cast<AdminServer*>(context);
        try {
            std::string_view path = request_path(request);
            if (path == "/metrics") return metrics(server, request);
            if (path == "/healthz") return reply(request, 200, "OK", "text/plain; charset=utf-8", "ok\n");
            if (path == "/readyz") return readiness(server, request);
            reply(request, 404, "Not Found", "text/plain; charset=utf-8", "not found\n");
        } catch (const std::exception&) {
            reply(request, 500, "Internal Server Error", "text/plain; charset=utf-8", "internal error\n");
        }
    }

    static void metrics(AdminServer& server, evhttp_request* request) {
        reply(request, 200, "OK", prometheus_text_content_type, server.metrics_.serialize());
    }

    static void readiness(AdminServer& server, evhttp_request* request) {
        nlohmann::json failing = nlohmann::json::object();
        {
            std::lock_guard lock(server.checks_mutex_);
            for (const auto& [name, check] : server.checks_) {
                std::string why;
                bool ready = false;
                try {
                    ready = check(why);
                } catch (const std::exception& error) {
                    why = std::string("check threw: ") + error.what();
                }
                if (!ready) failing[name] = why.empty() ? "not ready" : why;
            }
        }
        // A plain bool decides the status: comparing body["status"] with a string literal makes g++ 14
        // report -Warray-bounds inside nlohmann::json at -O2 (Debian 13, Release).
        const bool all_ready = failing.empty();
        nlohmann::json body{{"status", all_ready ? "ready" : "not_ready"}};
        if (!all_ready) body["failing"] = std::move(failing);
        std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (all_ready) {
            reply(request, 200, "OK", "application/json", text);
        } else {
            reply(request, 503, "Service Unavailable", "application/json", text);
        }
    }
};

AdminServer::AdminServer(const config::HostPort& listen, Metrics& metrics) : listen_(listen), metrics_(metrics) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::add_readiness_check(std::string name, ReadinessCheck check) {
    std::lock_guard lock(checks_mutex_);
    checks_.emplace_back(std::move(name), std::move(check));
}

bool AdminServer::start() {
    std::string ignored;
    return start(ignored);
}

bool AdminServer::start(std::string& error) {
    if (thread_.joinable()) {
        error = "admin server already started";
        return false;
    }
    enable_libevent_threads();
    auto loop = std::make_unique<Loop>();
    loop->base.reset(event_base_new());
    if (!loop->base) {
        error = "admin server: event_base_new failed";
        return false;
    }
    loop->http.reset(evhttp_new(loop->base.get()));
    if (!loop->http) {
        error = "admin server: evhttp_new failed";
        return false;
    }
    loop->stop_event.reset(event_new(
        loop->base.get(), -1, 0, [](evutil_socket_t, short, void* base) { event_base_loopbreak(static_cast<event_base*>(base)); },
        loop->base.get()));
    if (!loop->stop_event) {
        error = "admin server: event_new failed";
        return false;
    }
    evhttp* http = loop->http.get();
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(http, 16 * 1024);
    evhttp_set_max_body_size(http, 4 * 1024);
    evhttp_set_timeout(http, 30);
    evhttp_set_gencb(http, &AdminRequestHandlers::dispatch, this);

    errno = 0;
    evhttp_bound_socket* socket = evhttp_bind_socket_with_handle(http, listen_.host.c_str(), listen_.port);
    if (socket == nullptr) {
        error = "admin server: cannot listen on " + listen_.to_string() +
                (errno ? std::string(": ") + std::strerror(errno) : std::string());
        return false;
    }
    back_off_when_out_of_descriptors(evhttp_bound_socket_get_listener(socket));
    bound_port_ = local_port(evhttp_bound_socket_get_fd(socket));
    loop_ = std::move(loop);
    thread_ = std::thread([this] { serve(); });
    return true;
}

void AdminServer::serve() { event_base_dispatch(loop_->base.get()); }

void AdminServer::stop() {
    if (!thread_.joinable()) return;
    event_active(loop_->stop_event.get(), EV_READ, 0);
    thread_.join();
    loop_.reset();
}

}  // namespace dance::proxy
