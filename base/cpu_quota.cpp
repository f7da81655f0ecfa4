#include "base/cpu_quota.hpp"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <thread>

namespace dance {
namespace {

// ceil(quota / period) when both are positive numbers.
std::optional<unsigned> cpus_of(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    return static_cast<unsigned>(std::max(1LL, (quota + period - 1) / period));
}

std::optional<unsigned> cgroup_v2_quota(const std::string& root) {
    std::ifstream file(root + "/cpu.max");
    std::string quota;
    long long period = 0;
    if (!(file >> quota >> period) || quota == "max") return std::nullopt;
    try {
        return cpus_of(std::stoll(quota), period);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<unsigned> cgroup_v1_quota(const std::string& root) {
    std::ifstream quota_file(root + "/cpu/cpu.cfs_quota_us");
    std::ifstream period_file(root + "/cpu/cpu.cfs_period_us");
    long long quota = 0, period = 0;
    if (!(quota_file >> quota) || !(period_file >> period)) return std::nullopt;
    return cpus_of(quota, period);  // quota -1 = none
}

}  // namespace

std::optional<unsigned> cgroup_cpu_quota(const std::string& cgroup_root) {
    if (auto v2 = cgroup_v2_quota(cgroup_root)) return v2;
    return cgroup_v1_quota(cgroup_root);
}

unsigned usable_cpus(const std::string& cgroup_root) {
    unsigned cpus = std::thread::hardware_concurrency();
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = static_cast<unsigned>(CPU_COUNT(&mask));
    if (auto quota = cgroup_cpu_quota(cgroup_root)) cpus = std::min(cpus, *quota);
    return std::max(1u, cpus);
}

}  // namespace dance
