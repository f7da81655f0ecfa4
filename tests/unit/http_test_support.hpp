// Loopback fixtures for the HTTP relay tests: an event loop, listeners, a backend built from
// HttpServerSession, and child processes (curl) watched by the loop, so everything stays single-threaded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <nlohmann/json.hpp>

#include "base/c_handles.hpp"
#include "proxy/http/http_server_session.hpp"

extern char** environ;

namespace dance::proxy::testing {

// Writes to a peer that went away must fail with EPIPE, not kill the test process (the sidecar's main
// ignores SIGPIPE the same way).
inline const bool sigpipe_ignored = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

class EventLoop {
public:
    EventLoop() : base_(event_base_new()) {}
    event_base* base() const { return base_.get(); }

    // Runs the loop until `done` holds; false if `limit` passed first.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        EventPtr tick(event_new(base(), -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr));
        timeval period{0, 5000};
        event_add(tick.get(), &period);
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            event_base_loop(base(), EVLOOP_ONCE);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds duration) {
        auto end = std::chrono::steady_clock::now() + duration;
        run_until([&] { return std::chrono::steady_clock::now() >= end; }, duration + std::chrono::seconds(1));
    }

private:
    EventBasePtr base_;
};

// Accepts on 127.0.0.1:<ephemeral>.
class TestListener {
public:
    using Accept = std::function<void(evutil_socket_t)>;
    TestListener(event_base* base, Accept accept) : accept_(std::move(accept)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        listener_.reset(evconnlistener_new_bind(base, &TestListener::on_accept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                                64, reinterpret_cast<sockaddr*>(&address), sizeof address));
        socklen_t length = sizeof address;
        getsockname(evconnlistener_get_fd(listener_.get()), reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
    }
    uint16_t port() const { return port_; }

private:
    static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) {
        static_cast<TestListener*>(self)->accept_(fd);
    }
    Accept accept_;
    ListenerPtr listener_;
    uint16_t port_ = 0;
};

// Serves HttpServerSessions over plain TCP; owns them and frees each when it closes.
class SessionServer {
public:
    SessionServer(event_base* base, HttpServerSessionOptions options, HttpServerSession::RequestHandler handler)
        : base_(base), options_(options), handler_(std::move(handler)),
          listener_(base, [this](evutil_socket_t fd) { accept(fd); }) {}
    uint16_t port() const { return listener_.port(); }
    int connections_accepted() const { return accepted_; }
    std::size_t open_sessions() const { return sessions_.size(); }
    void close_all() {
        for (auto& session : sessions_) session->close();
    }
    void end_keep_alive_all() {
        for (auto& session : sessions_) session->end_keep_alive();
    }
    std::size_t wind_down() {
        return wind_down_sessions(sessions_, [](auto& session) -> HttpServerSession& { return *session; });
    }
    // Sends FIN on every accepted socket right now (bufferevent_free closes its socket only later).
    void shutdown_all_sockets() {
        for (evutil_socket_t fd : accepted_fds_) shutdown(fd, SHUT_RDWR);
    }
    std::vector<std::string> close_reasons;
    std::function<void(evutil_socket_t)> tune_accepted_socket;  // e.g. a small SO_SNDBUF

private:
    void accept(evutil_socket_t fd) {
        if (tune_accepted_socket) tune_accepted_socket(fd);
        ++accepted_;
        accepted_fds_.push_back(fd);
        bufferevent* bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
        sessions_.emplace_back();
        auto it = std::prev(sessions_.end());
        int connection_id = accepted_;
        auto handler = [this, connection_id](HttpRequest&& request, ResponseWriter writer) {
            request.set_header("X-Test-Connection", std::to_string(connection_id));
            handler_(std::move(request), std::move(writer));
        };
        *it = std::make_unique<HttpServerSession>(bev, options_, handler, [this, it] {
            close_reasons.emplace_back((*it)->close_reason());
            sessions_.erase(it);
        });
    }
    event_base* base_;
    HttpServerSessionOptions options_;
    HttpServerSession::RequestHandler handler_;
    std::list<std::unique_ptr<HttpServerSession>> sessions_;
    int accepted_ = 0;
    std::vector<evutil_socket_t> accepted_fds_;
    TestListener listener_;
};

// Answers every request with a JSON description of what it received (never the session's own headers).
inline void echo_request(HttpRequest&& request, ResponseWriter writer) {
    nlohmann::json description = {{"method", request.method},
                                  {"target", request.target},
                                  {"body", request.body},
                                  {"connection", request.header("X-Test-Connection").value_or("")},
                                  {"content_length", request.header("Content-Length").value_or("")},
                                  {"transfer_encoding", request.header("Transfer-Encoding").value_or("")}};
    writer(make_response(200, description.dump(), "application/json"));
}

// A child process whose stdout is collected by the event loop.
class ChildProcess {
public:
    ChildProcess(event_base* base, std::vector<std::string> argv) {
        int fds[2];
        if (pipe(fds) != 0) return;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        evutil_make_socket_nonblocking(fds[0]);
        output_.reset(bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE));
        bufferevent_setcb(output_.get(), &ChildProcess::on_read, nullptr, &ChildProcess::on_event, this);
        bufferevent_enable(output_.get(), EV_READ);
    }
    ~ChildProcess() {
        if (pid_ > 0 && !finished_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    bool finished() const { return finished_; }
    int exit_code() const { return exit_code_; }
    const std::string& output() const { return text_; }

private:
    static void on_read(bufferevent* bev, void* self) {
        auto* child = static_cast<ChildProcess*>(self);
        evbuffer* input = bufferevent_get_input(bev);
        std::size_t length = evbuffer_get_length(input);
        child->text_.append(reinterpret_cast<const char*>(evbuffer_pullup(input, -1)), length);
        evbuffer_drain(input, length);
    }
    static void on_event(bufferevent*, short, void* self) {
        auto* child = static_cast<ChildProcess*>(self);
        int status = 0;
        waitpid(child->pid_, &status, 0);
        child->exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        child->finished_ = true;
        child->output_.reset();
    }
    pid_t pid_ = -1;
    BuffereventPtr output_;
    std::string text_;
    bool finished_ = false;
    int exit_code_ = -1;
};

// A raw client connection: write bytes, collect what comes back, see the close.
class RawClient {
public:
    RawClient(event_base* base, uint16_t port) {
        connection_.reset(bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE));
        bufferevent_setcb(connection_.get(), &RawClient::on_read, nullptr, &RawClient::on_event, this);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        bufferevent_socket_connect(connection_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
        bufferevent_enable(connection_.get(), EV_READ | EV_WRITE);
    }
    void write(std::string_view bytes) { bufferevent_write(connection_.get(), bytes.data(), bytes.size()); }
    void shutdown_write() { shutdown(bufferevent_getfd(connection_.get()), SHUT_WR); }
    bool all_written() const { return evbuffer_get_length(bufferevent_get_output(connection_.get())) == 0; }
    const std::string& received() const { return received_; }
    bool closed() const { return closed_; }

private:
    static void on_read(bufferevent* bev, void* self) {
        auto* client = static_cast<RawClient*>(self);
        evbuffer* input = bufferevent_get_input(bev);
        std::size_t length = evbuffer_get_length(input);
        client->received_.append(reinterpret_cast<const char*>(evbuffer_pullup(input, -1)), length);
        evbuffer_drain(input, length);
    }
    static void on_event(bufferevent*, short what, void* self) {
        if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) static_cast<RawClient*>(self)->closed_ = true;
    }
    BuffereventPtr connection_;
    std::string received_;
    bool closed_ = false;
};

// A blocking-socket client outside the loop, with a small receive buffer: it reads only when told, so
// the server's answers pile up on the server's side.
class NonReadingClient {
public:
    explicit NonReadingClient(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
        int small = 4096;
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~NonReadingClient() { close(fd_); }
    NonReadingClient(const NonReadingClient&) = delete;
    NonReadingClient& operator=(const NonReadingClient&) = delete;
    bool connected() const { return connected_; }
    bool send_all(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(sent));
        }
        return true;
    }
    // Whatever has arrived, without waiting.
    const std::string& read_available() {
        char chunk[65536];
        ssize_t got;
        while ((got = recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT)) > 0) received_.append(chunk, static_cast<std::size_t>(got));
        return received_;
    }

private:
    int fd_;
    bool connected_ = false;
    std::string received_;
};

inline std::size_t count_of(const std::string& text, std::string_view needle) {
    std::size_t count = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++count;
    return count;
}

}  // namespace dance::proxy::testing
