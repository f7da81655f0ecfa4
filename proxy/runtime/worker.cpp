#include "proxy/runtime/worker.hpp"

#include <openssl/async.h>

#include "base/c_handles.hpp"
#include "base/loop_mailbox.hpp"
#include "dns/make_resolver.hpp"
#include "proxy/inbound/inbound_listener.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/outbound/outbound_listener.hpp"

namespace dance::proxy {

struct Worker::Loop {
    EventBasePtr base;
    std::unique_ptr<dns::TlsaResolver> resolver;
    std::vector<std::unique_ptr<InboundListener>> inbound;
    std::vector<std::unique_ptr<OutboundListener>> outbound;
    std::shared_ptr<dance::LoopMailbox> mailbox;

    ~Loop() {
        inbound.clear();
        outbound.clear();
        resolver.reset();
        if (mailbox) mailbox->close();
        mailbox.reset();
    }
};

Worker::Worker(size_t index, SharedRuntime& shared) : index_(index), shared_(shared) {}

Worker::~Worker() { stop(); }

bool Worker::start(std::string& error) {
    std::promise<std::string> started;
    std::future<std::string> result = started.get_future();
    thread_ = std::thread([this, started = std::move(started)]() mutable { run(std::move(started)); });
    error = result.get();
    return error.empty();
}

namespace {

// Each handshake paused on DNS holds an OpenSSL async job (a fibre with its own stack) until its lookup ends;
// the pool is bounded so that a flood of stalled handshakes cannot grow memory without limit.
size_t async_job_limit(const SharedRuntime& shared) {
    size_t jobs = 8;  // jobs are also taken, briefly, by every SSL_do_handshake call that does not pause
    for (const auto& listener : shared.inbound) jobs += listener->settings->get()->config.max_pending_dns;
    return jobs;
}

// Batches epoll changes until the next epoll_wait, where an event armed and disarmed in the same pass costs
// nothing: see write_now(). libevent warns that the change list is unsafe with dup()ed descriptors; the
// proxy never duplicates a socket.
event_base* make_worker_base() {
    std::unique_ptr<event_config, FreeWith<event_config_free>> config(event_config_new());
    if (!config) return nullptr;
    event_config_set_flag(config.get(), EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    return event_base_new_with_config(config.get());
}

}  // namespace

void Worker::run(std::promise<std::string> started) {
    ASYNC_init_thread(async_job_limit(shared_), 0);
    Loop loop;
    std::string error;
    try {
        loop.base.reset(make_worker_base());
        loop.mailbox = dance::LoopMailbox::create(loop.base.get());
        loop.resolver = dns::make_resolver(loop.base.get(), shared_.dns, shared_.cache, shared_.observer);
        for (auto& listener : shared_.inbound) {
            loop.inbound.push_back(std::make_unique<InboundListener>(loop.base.get(), *loop.resolver,
                                                                     *listener->settings, *listener->metrics,
                                                                     listener->open_connections,
                                                                     listener->unauthenticated_bytes));
            if (!loop.inbound.back()->start(error)) break;
        }
        for (auto& listener : shared_.outbound) {
            if (!error.empty()) break;
            loop.outbound.push_back(std::make_unique<OutboundListener>(loop.base.get(), *loop.resolver,
                                                                       *listener->settings, *listener->metrics,
                                                                       shared_.dns.cache));
            if (!loop.outbound.back()->start(error)) break;
        }
    } catch (const std::exception& failure) {
        error = failure.what();
    }
    if (!loop.mailbox && error.empty()) error = "cannot create the worker's mailbox";
    if (!error.empty()) {
        started.set_value(error);
        return;  // the Loop goes first; the thread's async jobs are freed at thread exit
    }
    {
        std::lock_guard lock(mailbox_mutex_);
        mailbox_ = loop.mailbox;
        loop_ = &loop;
    }
    started.set_value("");
    event_base_loop(loop.base.get(), EVLOOP_NO_EXIT_ON_EMPTY);
    {
        std::lock_guard lock(mailbox_mutex_);
        mailbox_.reset();
        loop_ = nullptr;
    }
}

void Worker::post(std::function<void(Loop&)> task) {
    std::lock_guard lock(mailbox_mutex_);
    if (!mailbox_ || loop_ == nullptr) return;
    Loop* loop = loop_;
    std::static_pointer_cast<dance::LoopMailbox>(mailbox_)->post([loop, task = std::move(task)] { task(*loop); });
}

void Worker::stop_accepting() {
    remaining_.store(SIZE_MAX);  // unknown until the first drain_connections() round reports
    post([](Loop& loop) {
        for (auto& listener : loop.inbound) listener->stop_accepting();
        for (auto& listener : loop.outbound) listener->stop_accepting();
    });
}

void Worker::drain_connections() {
    post([this](Loop& loop) {
        size_t remaining = 0;
        for (auto& listener : loop.inbound) remaining += listener->drain_connections();
        for (auto& listener : loop.outbound) remaining += listener->drain_connections();
        remaining_.store(remaining);
    });
}

void Worker::stop() {
    post([](Loop& loop) { event_base_loopexit(loop.base.get(), nullptr); });
    if (thread_.joinable()) thread_.join();
}

}  // namespace dance::proxy
