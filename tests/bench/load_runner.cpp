#include "tests/bench/load_runner.hpp"

#include <csignal>
#include <memory>
#include <unistd.h>

#include "tests/bench/handshake_client.hpp"

namespace dance::bench {

struct LoadRunner::State {
    SSL_CTX* ctx;
    LoadSettings settings;
    dance::EventBasePtr base{event_base_new()};
    dance::EventPtr deadline;
    std::vector<std::unique_ptr<HandshakeClient>> clients;
    LoadTotals totals;
    unsigned in_flight = 0;
    bool stopping = false;
    std::chrono::steady_clock::time_point started;

    void start_client() {
        auto client = std::make_unique<HandshakeClient>(
            base.get(), ctx, settings.target, settings.request_wire,
            [this, slot = clients.size()](ClientOutcome outcome) { on_done(slot, std::move(outcome)); });
        clients.push_back(std::move(client));
        ++in_flight;
        clients.back()->start();
    }

    void on_done(std::size_t slot, ClientOutcome outcome) {
        --in_flight;
        record(std::move(outcome));
        if (settings.hold > 0) return continue_holding();
        if (stopping || finished()) return stop();
        ++in_flight;
        clients[slot]->start();
    }

    void record(ClientOutcome outcome) {
        if (stopping) return;
        if (outcome.ok) {
            ++totals.succeeded;
            totals.latencies_ms.push_back(outcome.seconds * 1000);
        } else {
            ++totals.failed;
            if (totals.first_error.empty()) totals.first_error = outcome.error;
        }
    }

    // Without a single success after many failures the target is broken: no point hammering it.
    bool hopeless() const { return totals.succeeded == 0 && totals.failed >= 200; }

    bool finished() const {
        return hopeless() || (settings.count > 0 && totals.succeeded >= settings.count);
    }

    void continue_holding() {
        const uint64_t attempted = totals.succeeded + totals.failed;
        if (hopeless() || attempted >= settings.hold) {
            if (in_flight == 0) stop();
            return;
        }
        if (clients.size() < settings.hold) start_client();
    }

    void stop() {
        if (!stopping) totals.elapsed_s = seconds_since_start();
        stopping = true;
        event_base_loopexit(base.get(), nullptr);
    }

    double seconds_since_start() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }

    static void deadline_fired(evutil_socket_t, short, void* self) { static_cast<State*>(self)->stop(); }
};

LoadRunner::LoadRunner(SSL_CTX* ctx, LoadSettings settings) : state_(std::make_unique<State>()) {
    state_->ctx = ctx;
    state_->settings = std::move(settings);
}

LoadRunner::~LoadRunner() {
    state_->clients.clear();  // before the event base they use
}

LoadTotals LoadRunner::run() {
    State& state = *state_;
    state.deadline.reset(evtimer_new(state.base.get(), State::deadline_fired, &state));
    const double limit = state.settings.duration_s;
    timeval duration{static_cast<time_t>(limit), static_cast<suseconds_t>((limit - static_cast<time_t>(limit)) * 1e6)};
    evtimer_add(state.deadline.get(), &duration);
    state.started = std::chrono::steady_clock::now();
    const uint64_t first_wave = state.settings.hold > 0 ? std::min<uint64_t>(state.settings.hold, state.settings.concurrency)
                                                        : state.settings.concurrency;
    for (uint64_t i = 0; i < first_wave; ++i) state.start_client();
    event_base_dispatch(state.base.get());
    if (!state.stopping) state.stop();
    state.deadline.reset();
    return state.totals;
}

namespace {
void stop_loop(evutil_socket_t, short, void* base) { event_base_loopexit(static_cast<event_base*>(base), nullptr); }
}  // namespace

void LoadRunner::wait_for_stop_signal() {
    event_base* base = state_->base.get();
    dance::EventPtr on_term(evsignal_new(base, SIGTERM, stop_loop, base));
    dance::EventPtr on_int(evsignal_new(base, SIGINT, stop_loop, base));
    dance::EventPtr on_stdin(event_new(base, STDIN_FILENO, EV_READ, stop_loop, base));
    evsignal_add(on_term.get(), nullptr);
    evsignal_add(on_int.get(), nullptr);
    event_add(on_stdin.get(), nullptr);
    event_base_dispatch(base);
}

}  // namespace dance::bench
