#include "base/cpu_quota.hpp"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace dance {
namespace {

// ceil(quota / period) when both are positive numbers.
std::optional<unsigned> cpus_of(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    return static_cast<unsigned>(std::max(1LL, (quota + period - 1) / period));
}

std::optional<unsigned> cgroup_v2_quota(const std::string& directory) {
    std::ifstream file(directory + "/cpu.max");
    std::string quota;
    long long period = 0;
    if (!(file >> quota >> period) || quota == "max") return std::nullopt;
    try {
        return cpus_of(std::stoll(quota), period);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<unsigned> cgroup_v1_quota(const std::string& directory) {
    std::ifstream quota_file(directory + "/cpu.cfs_quota_us");
    std::ifstream period_file(directory + "/cpu.cfs_period_us");
    long long quota = 0, period = 0;
    if (!(quota_file >> quota) || !(period_file >> period)) return std::nullopt;
    return cpus_of(quota, period);  // quota -1 = none
}

std::string read_membership() {
    std::ifstream file("/proc/self/cgroup");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

// The path of the process's cgroup: of the v2 line ("0::/path") when `v2`, else of the v1 line whose
// controller list names "cpu". "/" when not found.
std::string cgroup_path(const std::string& membership, bool v2) {
    std::istringstream lines(membership);
    for (std::string line; std::getline(lines, line);) {
        auto first = line.find(':');
        auto second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
        bool matches = v2 ? line.compare(0, first, "0") == 0 && controllers == ",,"
                          : controllers.find(",cpu,") != std::string::npos;
        if (matches) return line.substr(second + 1);
    }
    return "/";
}

// The smallest quota from `base + path` up to `base`, never leaving `base` (a path that is not absolute or
// holds ".." is taken as the root).
template <typename ReadQuota>
std::optional<unsigned> tightest_on_path(const std::string& base, std::string path, ReadQuota read_quota) {
    if (!path.starts_with('/') || path.find("..") != std::string::npos) path = "/";
    std::optional<unsigned> tightest;
    while (true) {
        while (path.size() > 1 && path.back() == '/') path.pop_back();
        std::string directory = path == "/" || path.empty() ? base : base + path;
        if (auto quota = read_quota(directory)) tightest = tightest ? std::min(*tightest, *quota) : *quota;
        if (path == "/" || path.empty()) return tightest;
        path.erase(path.rfind('/') == 0 ? 1 : path.rfind('/'));
    }
}

}  // namespace

std::optional<unsigned> cgroup_cpu_quota(const std::string& cgroup_root, std::string membership) {
    if (membership.empty()) membership = read_membership();
    if (auto v2 = tightest_on_path(cgroup_root, cgroup_path(membership, true), cgroup_v2_quota)) return v2;
    return tightest_on_path(cgroup_root + "/cpu", cgroup_path(membership, false), cgroup_v1_quota);
}

unsigned usable_cpus(const std::string& cgroup_root, const std::string& membership) {
    unsigned cpus = std::thread::hardware_concurrency();
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = static_cast<unsigned>(CPU_COUNT(&mask));
    if (auto quota = cgroup_cpu_quota(cgroup_root, membership)) cpus = std::min(cpus, *quota);
    return std::max(1u, cpus);
}

}  // namespace dance
