#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <limits>

#include <netinet/in.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "base/c_handles.hpp"
#include "base/cpu_quota.hpp"
#include "base/ip_literal.hpp"
#include "base/open_file_limit.hpp"
#include "base/time_util.hpp"

TEST_CASE("timeval conversions: exact, never negative, no wrap for huge millisecond counts") {
    timeval a = dance::milliseconds_to_timeval(1234);
    CHECK(a.tv_sec == 1);
    CHECK(a.tv_usec == 234000);
    timeval huge = dance::milliseconds_to_timeval(std::numeric_limits<std::uint64_t>::max());
    CHECK(huge.tv_sec > 1000000000);  // getdns' "no timeout" stays far away, not 0
    timeval b = dance::to_timeval(std::chrono::microseconds(2500001));
    CHECK(b.tv_sec == 2);
    CHECK(b.tv_usec == 500001);
    timeval past = dance::to_timeval(std::chrono::microseconds(-5));
    CHECK(past.tv_sec == 0);
    CHECK(past.tv_usec == 0);
}

TEST_CASE("IP literals: both families, canonical forms, socket addresses; names and junk refused") {
    CHECK(dance::parse_ip_literal("127.0.0.1")->family == AF_INET);
    CHECK(dance::parse_ip_literal("::1")->family == AF_INET6);
    CHECK(dance::canonical_ip("0:0:0:0:0:0:0:1") == "::1");
    CHECK(dance::canonical_ip("192.0.2.1") == "192.0.2.1");
    for (std::string_view bad : {"", "js.example", "1.2.3", "[::1]", "::1%lo", "1.2.3.4:80", "256.1.1.1"}) {
        CAPTURE(bad);
        CHECK_FALSE(dance::is_ip_literal(bad));
        CHECK_FALSE(dance::socket_address(bad, 80).has_value());
    }
    auto v4 = dance::socket_address("127.0.0.1", 8003);
    REQUIRE(v4);
    CHECK(v4->length == sizeof(sockaddr_in));
    CHECK(ntohs(reinterpret_cast<const sockaddr_in*>(v4->get())->sin_port) == 8003);
    auto v6 = dance::socket_address("::1", 443);
    REQUIRE(v6);
    CHECK(v6->length == sizeof(sockaddr_in6));
    CHECK(v6->get()->sa_family == AF_INET6);
}

TEST_CASE("SocketFd closes what it owns, and nothing it released") {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    {
        dance::SocketFd owned(fds[0]);
        dance::SocketFd moved = std::move(owned);
        CHECK_FALSE(owned);
        CHECK(moved.get() == fds[0]);
    }
    char byte = 0;
    CHECK(read(fds[1], &byte, 1) == 0);  // the peer was closed: EOF
    dance::SocketFd kept(fds[1]);
    int raw = kept.release();
    CHECK(fcntl(raw, F_GETFD) != -1);  // still open
    CHECK(close(raw) == 0);            // and ours to close
}

TEST_CASE("usable CPUs: a cgroup v2 or v1 quota caps the count, rounded up; no quota leaves the affinity mask") {
    char pattern[] = "/tmp/cgroup-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    std::string root = pattern;
    const std::string at_root = "0::/\n";  // /proc/self/cgroup inside a container with its own cgroup namespace
    auto write = [](const std::string& path, const std::string& text) {
        FILE* file = fopen(path.c_str(), "w");
        REQUIRE(file != nullptr);
        fputs(text.c_str(), file);
        fclose(file);
    };
    CHECK_FALSE(dance::cgroup_cpu_quota(root, at_root).has_value());
    write(root + "/cpu.max", "max 100000\n");
    CHECK_FALSE(dance::cgroup_cpu_quota(root, at_root).has_value());
    write(root + "/cpu.max", "150000 100000\n");  // limits.cpu: 1500m
    CHECK(dance::cgroup_cpu_quota(root, at_root) == 2u);
    write(root + "/cpu.max", "50000 100000\n");
    CHECK(dance::cgroup_cpu_quota(root, at_root) == 1u);
    CHECK(dance::usable_cpus(root, at_root) == 1u);
    unlink((root + "/cpu.max").c_str());
    mkdir((root + "/cpu").c_str(), 0700);
    write(root + "/cpu/cpu.cfs_quota_us", "-1\n");
    write(root + "/cpu/cpu.cfs_period_us", "100000\n");
    CHECK_FALSE(dance::cgroup_cpu_quota(root, at_root).has_value());
    write(root + "/cpu/cpu.cfs_quota_us", "300000\n");
    CHECK(dance::cgroup_cpu_quota(root, at_root) == 3u);
    CHECK(dance::usable_cpus(root, at_root) <= 3u);
    CHECK(dance::usable_cpus(root, at_root) >= 1u);
    CHECK(dance::usable_cpus("/nonexistent", at_root) >= 1u);
    unlink((root + "/cpu/cpu.cfs_quota_us").c_str());
    unlink((root + "/cpu/cpu.cfs_period_us").c_str());
    rmdir((root + "/cpu").c_str());
    rmdir(root.c_str());
}

TEST_CASE("cgroup quota: the process's own cgroup and its ancestors count, the tightest wins") {
    char pattern[] = "/tmp/cgroup-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    std::string root = pattern;
    auto write = [](const std::string& path, const std::string& text) {
        FILE* file = fopen(path.c_str(), "w");
        REQUIRE(file != nullptr);
        fputs(text.c_str(), file);
        fclose(file);
    };
    // cgroup v2 as a systemd service or a container without a cgroup namespace sees it.
    std::filesystem::create_directories(root + "/kubepods.slice/pod1/ctr");
    const std::string v2 = "0::/kubepods.slice/pod1/ctr\n";
    CHECK_FALSE(dance::cgroup_cpu_quota(root, v2).has_value());
    write(root + "/kubepods.slice/pod1/ctr/cpu.max", "400000 100000\n");
    CHECK(dance::cgroup_cpu_quota(root, v2) == 4u);
    write(root + "/kubepods.slice/pod1/cpu.max", "250000 100000\n");  // the pod's limit is tighter
    CHECK(dance::cgroup_cpu_quota(root, v2) == 3u);
    CHECK(dance::cgroup_cpu_quota(root, "0::/kubepods.slice/pod1/ctr/\n") == 3u);  // a trailing slash
    CHECK(dance::cgroup_cpu_quota(root, "0::/kubepods.slice/../../etc\n") == std::nullopt);  // never above the root
    CHECK(dance::cgroup_cpu_quota(root, "0::/\n") == std::nullopt);  // the root sets none
    CHECK(dance::cgroup_cpu_quota(root, "0::kubepods.slice\n") == std::nullopt);  // not absolute: the root
    // cgroup v1: the line whose controllers name cpu, below <root>/cpu.
    std::filesystem::create_directories(root + "/cpu/system.slice/dance.service");
    write(root + "/cpu/system.slice/dance.service/cpu.cfs_quota_us", "150000\n");
    write(root + "/cpu/system.slice/dance.service/cpu.cfs_period_us", "100000\n");
    const std::string v1 = "4:memory:/elsewhere\n2:cpu,cpuacct:/system.slice/dance.service\n1:name=systemd:/x\n";
    CHECK(dance::cgroup_cpu_quota(root, v1) == 2u);
    CHECK(dance::usable_cpus(root, v1) <= 2u);
    CHECK_FALSE(dance::cgroup_cpu_quota(root, "2:cpuacct:/system.slice/dance.service\n").has_value());
    std::filesystem::remove_all(root);
}

TEST_CASE("open files: the soft limit is raised to the hard one, never lowered") {
    rlimit original{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &original) == 0);
    REQUIRE(original.rlim_max > 256);  // a soft limit below it is set here, as a container runtime would
    rlimit low{256, original.rlim_max};
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);

    auto raised = dance::raise_open_file_limit();
    CHECK(raised.before == 256);
    CHECK(raised.hard == original.rlim_max);
    CHECK(raised.now == original.rlim_max);
    rlimit now{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(now.rlim_cur == original.rlim_max);

    auto again = dance::raise_open_file_limit();  // already at the hard limit: left as it is
    CHECK(again.before == again.now);
    CHECK(again.now == original.rlim_max);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &original) == 0);
}
