// The process's limit on open files. Container runtimes commonly start a process with a soft limit of 1024
// (podman's default, containerd 2's) and a far higher hard limit: at 1024 a sidecar configured for 10,000
// connections refuses the 1,000th, and its admin endpoint (the kubelet's probes) with it. So the soft
// limit is raised to the hard one at start, as Go programs (ghostunnel) and HAProxy do.
#pragma once

#include <cstdint>

namespace dance {

struct OpenFileLimit {
    uint64_t before = 0;  // soft limit found at start
    uint64_t now = 0;     // soft limit after raising it
    uint64_t hard = 0;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit. Never lowers it; on failure `now` == `before`.
OpenFileLimit raise_open_file_limit();

}  // namespace dance
