// Owning handles for the C libraries' objects (libevent, OpenSSL) and for raw sockets: every handle the
// sidecar holds is one of these, so that no path can forget to free it. getdns handles live in
// dns/getdns_handles.hpp, the only code that uses getdns.
#pragma once

#include <cstdio>
#include <memory>
#include <utility>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace dance {

// A unique_ptr deleter that calls a C library's free function: FreeWith<event_free>, FreeWith<SSL_free>.
template <auto free_function>
struct FreeWith {
    template <typename T>
    void operator()(T* handle) const {
        free_function(handle);
    }
};

using EventBasePtr = std::unique_ptr<event_base, FreeWith<event_base_free>>;
using EventPtr = std::unique_ptr<event, FreeWith<event_free>>;
using BuffereventPtr = std::unique_ptr<bufferevent, FreeWith<bufferevent_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, FreeWith<evconnlistener_free>>;

using SslCtxPtr = std::unique_ptr<SSL_CTX, FreeWith<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, FreeWith<SSL_free>>;
using X509Ptr = std::unique_ptr<X509, FreeWith<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, FreeWith<BIO_free_all>>;

// A stdio stream. A deleter type of its own: decltype(&std::fclose) as a template argument drops glibc 2.41's
// attributes on fclose and g++ 14 warns (-Wignored-attributes).
struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// SSL_CTX is reference counted: listeners and connections share one.
using SharedSslCtx = std::shared_ptr<SSL_CTX>;
inline SharedSslCtx share_ssl_ctx(SSL_CTX* ctx) { return SharedSslCtx(ctx, SSL_CTX_free); }

// A socket descriptor, closed on destruction unless released.
class SocketFd {
public:
    SocketFd() = default;
    explicit SocketFd(evutil_socket_t fd) : fd_(fd) {}
    SocketFd(SocketFd&& other) noexcept : fd_(other.release()) {}
    SocketFd& operator=(SocketFd&& other) noexcept {
        reset(other.release());
        return *this;
    }
    SocketFd(const SocketFd&) = delete;
    SocketFd& operator=(const SocketFd&) = delete;
    ~SocketFd() { reset(); }

    evutil_socket_t get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    evutil_socket_t release() { return std::exchange(fd_, -1); }
    void reset(evutil_socket_t fd = -1) {
        if (fd_ >= 0) evutil_closesocket(fd_);
        fd_ = fd;
    }

private:
    evutil_socket_t fd_ = -1;
};

}  // namespace dance
