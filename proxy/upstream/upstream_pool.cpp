#include "proxy/upstream/upstream_pool.hpp"
#include "base/time_util.hpp"

#include <algorithm>

namespace dance::proxy {

UpstreamPoolStats& UpstreamPoolStats::operator+=(const UpstreamPoolStats& other) {
    requests += other.requests;
    responses += other.responses;
    failures += other.failures;
    connections_opened += other.connections_opened;
    connect_failures += other.connect_failures;
    reuses += other.reuses;
    retries += other.retries;
    idle_closed += other.idle_closed;
    idle_connections += other.idle_connections;
    requests_in_flight += other.requests_in_flight;
    return *this;
}

struct UpstreamPool::Pending {
    UpstreamPool* pool = nullptr;
    PendingList::iterator position;
    HttpRequest request;
    Done done;
    EventPtr deadline;
    std::unique_ptr<ConnectAttempt> connecting;
    std::unique_ptr<UpstreamConnection> connection;
    bool reused = false;
    bool retried = false;
    std::uint64_t connect_generation = 0;  // the pool's generation when the connect started
};

UpstreamPool::UpstreamPool(event_base* base, Connector connector, UpstreamPoolOptions options)
    : base_(base),
      connector_(std::move(connector)),
      options_(options),
      dispose_event_(event_new(base, -1, 0, &UpstreamPool::on_dispose, this)) {}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::send(HttpRequest request, Done done) {
    ++stats_.requests;
    auto& pending = *pending_.emplace_back(std::make_unique<Pending>());
    pending.pool = this;
    pending.position = std::prev(pending_.end());
    pending.request = std::move(request);
    pending.done = std::move(done);
    pending.deadline.reset(evtimer_new(
        base_, [](evutil_socket_t, short, void* p) { auto* pending = static_cast<Pending*>(p); pending->pool->on_deadline(pending); },
        &pending));
    timeval timeout = milliseconds_to_timeval(options_.request_timeout_ms);
    evtimer_add(pending.deadline.get(), &timeout);
    start_attempt(pending, true);
}

UpstreamPoolStats UpstreamPool::stats() const {
    UpstreamPoolStats now = stats_;
    now.idle_connections = idle_.size();
    now.requests_in_flight = pending_.size();
    return now;
}

void UpstreamPool::close_idle_connections() { idle_.clear(); }

void UpstreamPool::retire_connections() {
    ++generation_;
    close_idle_connections();
}

bool UpstreamPool::reusable(const UpstreamConnection& connection) const {
    return connection.generation() == generation_ && std::chrono::steady_clock::now() < connection.reuse_until();
}

void UpstreamPool::start_attempt(Pending& pending, bool allow_reuse) {
    if (allow_reuse) {
        if (auto connection = take_idle_connection()) {
            ++stats_.reuses;
            pending.reused = true;
            run_exchange(pending, std::move(connection));
            return;
        }
    }
    pending.reused = false;
    // A reload may retire connections while this one is being made with the old settings.
    pending.connect_generation = generation_;
    // Runs from the loop only, so `pending` is settled before it can fire.
    pending.connecting = connector_([this, p = &pending](ConnectOutcome outcome) { on_connected(p, std::move(outcome)); });
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle_connection() {
    while (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        if (connection->looks_alive() && reusable(*connection)) return connection;
        ++stats_.idle_closed;
    }
    return nullptr;
}

void UpstreamPool::on_connected(Pending* pending, ConnectOutcome outcome) {
    dispose_later(std::move(pending->connecting));
    if (!outcome.connection) {
        ++stats_.connect_failures;
        complete(pending, {std::nullopt, std::move(outcome.failure), false, false});
        return;
    }
    ++stats_.connections_opened;
    auto connection = std::make_unique<UpstreamConnection>(std::move(outcome.connection), options_.limits);
    connection->limit_reuse(outcome.reuse_until);
    connection->set_generation(pending->connect_generation);
    run_exchange(*pending, std::move(connection));
}

void UpstreamPool::run_exchange(Pending& pending, std::unique_ptr<UpstreamConnection> connection) {
    pending.connection = std::move(connection);
    pending.connection->exchange(pending.request, [this, p = &pending](ExchangeOutcome outcome) { on_exchanged(p, std::move(outcome)); });
}

void UpstreamPool::on_exchanged(Pending* pending, ExchangeOutcome outcome) {
    auto connection = std::move(pending->connection);
    if (outcome.response) {
        if (outcome.reusable) keep_idle(std::move(connection));
        else dispose_later(std::move(connection));
        complete(pending, {std::move(outcome.response), {}, true, pending->reused});
        return;
    }
    dispose_later(std::move(connection));
    if (pending->reused && !pending->retried && !outcome.request_bytes_sent) {
        ++stats_.retries;
        pending->retried = true;
        start_attempt(*pending, false);
        return;
    }
    complete(pending, {std::nullopt, std::move(outcome.failure), outcome.request_bytes_sent, pending->reused});
}

void UpstreamPool::on_deadline(Pending* pending) {
    UpstreamResult result;
    result.reused_connection = pending->reused;
    if (pending->connection) {
        result.request_bytes_sent = pending->connection->request_bytes_sent();
        result.failure = {UpstreamError::timeout, "no complete response within " + std::to_string(options_.request_timeout_ms) + " ms", {}};
    } else {
        result.failure = {UpstreamError::connect_timeout, "no connection within the request time of " +
                                                               std::to_string(options_.request_timeout_ms) + " ms", {}};
    }
    complete(pending, std::move(result));
}

void UpstreamPool::keep_idle(std::unique_ptr<UpstreamConnection> connection) {
    if (!reusable(*connection)) {
        ++stats_.idle_closed;
        return dispose_later(std::move(connection));
    }
    if (idle_.size() >= options_.max_idle) {
        if (options_.max_idle == 0) return dispose_later(std::move(connection));
        dispose_later(std::move(idle_.front()));
        idle_.pop_front();
    }
    connection->watch_idle(idle_time_left(*connection), [this, raw = connection.get()](std::string) { drop_idle(raw); });
    idle_.push_back(std::move(connection));
}

// How long an idle connection may wait for its next exchange: the idle timeout, cut short where the
// connection's authentication expires first.
std::uint32_t UpstreamPool::idle_time_left(const UpstreamConnection& connection) const {
    auto until = connection.reuse_until();
    if (until == std::chrono::steady_clock::time_point::max()) return options_.idle_timeout_ms;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    return static_cast<std::uint32_t>(std::min<long long>(std::max<long long>(left, 1), options_.idle_timeout_ms));
}

void UpstreamPool::drop_idle(UpstreamConnection* connection) {
    auto it = std::find_if(idle_.begin(), idle_.end(), [&](const auto& c) { return c.get() == connection; });
    if (it == idle_.end()) return;
    ++stats_.idle_closed;
    dispose_later(std::move(*it));
    idle_.erase(it);
}

void UpstreamPool::complete(Pending* pending, UpstreamResult result) {
    std::unique_ptr<Pending> finished = std::move(*pending->position);
    pending_.erase(pending->position);
    // A connection or attempt still held here is not running a callback (those paths moved it out):
    // destroy it now, so it cannot call back into this finished request.
    if (result.ok()) ++stats_.responses;
    else ++stats_.failures;
    Done done = std::move(finished->done);
    finished.reset();
    done(std::move(result));  // may destroy the pool: nothing after
}

void UpstreamPool::dispose_later(std::unique_ptr<UpstreamConnection> connection) {
    if (!connection) return;
    dead_connections_.push_back(std::move(connection));
    event_active(dispose_event_.get(), EV_TIMEOUT, 1);
}

void UpstreamPool::dispose_later(std::unique_ptr<ConnectAttempt> attempt) {
    if (!attempt) return;
    dead_attempts_.push_back(std::move(attempt));
    event_active(dispose_event_.get(), EV_TIMEOUT, 1);
}

void UpstreamPool::on_dispose(evutil_socket_t, short, void* self) {
    auto* pool = static_cast<UpstreamPool*>(self);
    pool->dead_connections_.clear();
    pool->dead_attempts_.clear();
}

}  // namespace dance::proxy
