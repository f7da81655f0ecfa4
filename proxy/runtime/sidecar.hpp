// The whole process: workers, admin endpoint, signals (SIGHUP reload, SIGTERM drain), certificate watching.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"

namespace dance::proxy {

class Sidecar {
public:
    explicit Sidecar(config::Config config);
    ~Sidecar();
    Sidecar(const Sidecar&) = delete;
    Sidecar& operator=(const Sidecar&) = delete;

    // Runs until SIGTERM/SIGINT and the drain that follows. Returns the process exit code.
    int run();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace dance::proxy
