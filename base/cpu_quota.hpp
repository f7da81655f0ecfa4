// How many CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota (a container's
// CPU limit). A Kubernetes pod with limits.cpu 2 on a 64-core node gets 2, not 64.
#pragma once

#include <optional>
#include <string>

namespace dance {

// The tightest CPU quota on this process's cgroup or any of its ancestors, rounded up: cgroup v2 `cpu.max`
// ("200000 100000" = 2 CPUs; "max ..." = none) or cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
// `membership` is the text of /proc/self/cgroup (read when empty): it places the process below
// `cgroup_root` (inside a container with its own cgroup namespace that is "0::/", the root itself; a
// systemd service or a container without one sits deeper). nullopt when no level sets a quota.
std::optional<unsigned> cgroup_cpu_quota(const std::string& cgroup_root = "/sys/fs/cgroup",
                                         std::string membership = {});

// min(CPUs in the affinity mask, cgroup quota), at least 1.
unsigned usable_cpus(const std::string& cgroup_root = "/sys/fs/cgroup", const std::string& membership = {});

}  // namespace dance
