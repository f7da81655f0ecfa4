#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy/observe/log.hpp"
#include "proxy/observe/log_async_writer.hpp"

namespace dlog = dance::proxy::log;

namespace {

struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe() {
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        read_end = fds[0];
        write_end = fds[1];
    }
    ~Pipe() {
        if (read_end >= 0) close(read_end);
        if (write_end >= 0) close(write_end);
    }
    void close_write_end() {
        close(write_end);
        write_end = -1;
    }
    std::string read_all() {
        std::string text;
        char buffer[8192];
        ssize_t got;
        while ((got = read(read_end, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
        return text;
    }
};

std::vector<nlohmann::json> parse_lines(const std::string& text) {
    std::vector<nlohmann::json> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

struct DefaultLoggerAfterwards {
    DefaultLoggerAfterwards() { dlog::configure({}); }
    ~DefaultLoggerAfterwards() {
        dlog::set_sink({});
        dlog::configure({});
    }
};

}  // namespace

TEST_CASE("the async writer delivers every line in order, complete, by the time it is destroyed") {
    DefaultLoggerAfterwards restore;
    Pipe pipe;
    std::string output;
    std::thread reader([&] { output = pipe.read_all(); });
    {
        dlog::AsyncLogWriter writer(1024 * 1024, pipe.write_end);
        for (int i = 0; i < 2000; ++i) dlog::info("line", {{"n", i}});
        CHECK(writer.dropped_lines() == 0);
    }
    pipe.close_write_end();
    reader.join();
    auto lines = parse_lines(output);
    REQUIRE(lines.size() == 2000);
    for (int i = 0; i < 2000; ++i) CHECK(lines[static_cast<std::size_t>(i)]["n"] == i);
}

TEST_CASE("a stalled log consumer costs dropped lines, not a blocked logging thread") {
    DefaultLoggerAfterwards restore;
    Pipe pipe;
    fcntl(pipe.write_end, F_SETPIPE_SZ, 4096);
    constexpr uint64_t total = 5000;
    std::optional<dlog::AsyncLogWriter> writer(std::in_place, 2048, pipe.write_end);
    // Nobody reads yet: once the pipe and the queue are full, lines are dropped. If logging blocked on
    // the full pipe, this loop would never finish.
    for (uint64_t i = 0; i < total; ++i) dlog::info("line", {{"n", i}, {"padding", std::string(60, 'x')}});
    uint64_t dropped = writer->dropped_lines();
    CHECK(dropped > total / 2);

    std::string output;
    std::thread reader([&] { output = pipe.read_all(); });
    writer.reset();  // flushes what was queued and the drop report
    pipe.close_write_end();
    reader.join();

    uint64_t delivered = 0;
    uint64_t reported = 0;
    for (const auto& line : parse_lines(output)) {  // every line complete, valid JSON
        if (line["event"] == "line") ++delivered;
        if (line["event"] == "log_lines_dropped") reported += line["lines"].get<uint64_t>();
    }
    CHECK(reported == dropped);
    CHECK(delivered + dropped == total);
    CHECK(parse_lines(output).back()["event"] == "log_lines_dropped");
}
