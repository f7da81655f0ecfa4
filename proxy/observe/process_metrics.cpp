#include "proxy/observe/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>

namespace dance::proxy {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type, double value) {
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) metric.counter.value = value;
    else metric.gauge.value = value;
    return {std::move(name), std::move(help), type, {metric}};
}

// Fields of /proc/<pid>/stat after the command name (which may hold blanks and parentheses): index 0 is the
// state, field 14 of proc(5) (utime) is index 11.
std::optional<std::vector<std::string>> stat_fields(const std::string& proc_dir) {
    std::ifstream file(proc_dir + "/stat");
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    auto end_of_name = text.rfind(')');
    if (end_of_name == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(end_of_name + 1));
    std::vector<std::string> fields{std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
    if (fields.size() < 22) return std::nullopt;
    return fields;
}

std::optional<double> boot_time_seconds() {
    std::ifstream file("/proc/stat");
    std::string key;
    double value = 0;
    while (file >> key) {
        if (key == "btime" && file >> value) return value;
        file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

void add_stat_families(std::vector<prometheus::MetricFamily>& out, const std::string& proc_dir) {
    auto fields = stat_fields(proc_dir);
    if (!fields) return;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    try {
        double cpu = (std::stod((*fields)[11]) + std::stod((*fields)[12])) / ticks;
        out.push_back(family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                             prometheus::MetricType::Counter, cpu));
        out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             prometheus::MetricType::Gauge, std::stod((*fields)[20])));
        out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                             prometheus::MetricType::Gauge, std::stod((*fields)[21]) * page));
        if (auto boot = boot_time_seconds()) {
            out.push_back(family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                                 prometheus::MetricType::Gauge, *boot + std::stod((*fields)[19]) / ticks));
        }
    } catch (const std::exception&) {
        // a field that is not a number: left out
    }
}

// Entries of <proc>/fd, without the descriptor this listing itself holds open (when it lists its own process).
// Never throws: a descriptor closed while it is listed is an error code, not an exception.
std::optional<std::size_t> count_open_descriptors(const std::string& proc_dir) {
    std::error_code error;
    std::filesystem::directory_iterator entry(proc_dir + "/fd", error);
    if (error) return std::nullopt;
    std::size_t count = 0;
    for (; entry != std::filesystem::directory_iterator(); entry.increment(error)) {
        if (error) return std::nullopt;
        ++count;
    }
    if (error) return std::nullopt;
    if (proc_dir == "/proc/self" && count > 0) --count;
    return count;
}

void add_descriptor_families(std::vector<prometheus::MetricFamily>& out, const std::string& proc_dir) {
    if (auto open = count_open_descriptors(proc_dir)) {
        out.push_back(family("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge,
                             static_cast<double>(*open)));
    }
    rlimit limit{};
    if (proc_dir == "/proc/self" && getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        out.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                             prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
    }
}

}  // namespace

std::vector<prometheus::MetricFamily> collect_process_metrics(const std::string& proc_dir) {
    std::vector<prometheus::MetricFamily> families;
    add_stat_families(families, proc_dir);
    add_descriptor_families(families, proc_dir);
    return families;
}

}  // namespace dance::proxy
