#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include <netinet/in.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "base/c_handles.hpp"
#include "base/cpu_quota.hpp"
#include "base/ip_literal.hpp"
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
    auto write = [](const std::string& path, const std::string& text) {
        FILE* file = fopen(path.c_str(), "w");
        REQUIRE(file != nullptr);
        fputs(text.c_str(), file);
        fclose(file);
    };
    CHECK_FALSE(dance::cgroup_cpu_quota(root).has_value());
    write(root + "/cpu.max", "max 100000\n");
    CHECK_FALSE(dance::cgroup_cpu_quota(root).has_value());
    write(root + "/cpu.max", "150000 100000\n");  // limits.cpu: 1500m
    CHECK(dance::cgroup_cpu_quota(root) == 2u);
    write(root + "/cpu.max", "50000 100000\n");
    CHECK(dance::cgroup_cpu_quota(root) == 1u);
    CHECK(dance::usable_cpus(root) == 1u);
    unlink((root + "/cpu.max").c_str());
    mkdir((root + "/cpu").c_str(), 0700);
    write(root + "/cpu/cpu.cfs_quota_us", "-1\n");
    write(root + "/cpu/cpu.cfs_period_us", "100000\n");
    CHECK_FALSE(dance::cgroup_cpu_quota(root).has_value());
    write(root + "/cpu/cpu.cfs_quota_us", "300000\n");
    CHECK(dance::cgroup_cpu_quota(root) == 3u);
    CHECK(dance::usable_cpus(root) <= 3u);
    CHECK(dance::usable_cpus(root) >= 1u);
    CHECK(dance::usable_cpus("/nonexistent") >= 1u);
    unlink((root + "/cpu/cpu.cfs_quota_us").c_str());
    unlink((root + "/cpu/cpu.cfs_period_us").c_str());
    rmdir((root + "/cpu").c_str());
    rmdir(root.c_str());
}
