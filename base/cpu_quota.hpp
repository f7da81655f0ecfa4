// How many CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota (a container's
// CPU limit). A Kubernetes pod with limits.cpu 2 on a 64-core node gets 2, not 64.
#pragma once

#include <optional>
#include <string>

namespace dance {

// The quota of the cgroup v2 file `cpu.max` ("200000 100000" = 2 CPUs, rounded up; "max ..." = none) or of
// cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us under `cgroup_root`; nullopt when there is none.
std::optional<unsigned> cgroup_cpu_quota(const std::string& cgroup_root = "/sys/fs/cgroup");

// min(CPUs in the affinity mask, cgroup quota), at least 1.
unsigned usable_cpus(const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace dance
