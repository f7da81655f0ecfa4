#include "tests/peers/ns_emulator/load_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dance::peers {
namespace {

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double fraction) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double rounded(double value) { return std::round(value * 1000) / 1000; }

}  // namespace

void LoadStats::add_answer(int http_status, const std::string& result_code, const std::string& problem,
                           double latency_ms) {
    ++http_status_[http_status];
    ++result_codes_[result_code];
    latencies_ms_.push_back(latency_ms);
    if (problem.empty()) return;
    if (problem_count_++ == 0) first_problem_ = problem;
}

void LoadStats::add_error(const std::string& kind) {
    ++errors_[kind];
    ++error_count_;
}

nlohmann::ordered_json LoadStats::summary(double duration_s) {
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
    nlohmann::ordered_json http_status = nlohmann::ordered_json::object();
    for (const auto& [status, count] : http_status_) http_status[std::to_string(status)] = count;
    const double mean = latencies_ms_.empty() ? 0
        : std::accumulate(latencies_ms_.begin(), latencies_ms_.end(), 0.0) / static_cast<double>(latencies_ms_.size());

    nlohmann::ordered_json out;
    out["requests"] = answered() + error_count_;
    out["answered"] = answered();
    out["error_count"] = error_count_;
    out["errors"] = errors_;
    out["http_status"] = http_status;
    out["result_codes"] = result_codes_;
    out["verify_failures"] = problem_count_;
    out["first_verify_failure"] = first_problem_;
    out["latency_ms"] = {{"p50", rounded(percentile(latencies_ms_, 0.50))},
                         {"p99", rounded(percentile(latencies_ms_, 0.99))},
                         {"p99.9", rounded(percentile(latencies_ms_, 0.999))},
                         {"max", rounded(latencies_ms_.empty() ? 0 : latencies_ms_.back())},
                         {"mean", rounded(mean)}};
    out["duration_s"] = rounded(duration_s);
    out["requests_per_second"] = duration_s > 0 ? rounded(static_cast<double>(answered()) / duration_s) : 0;
    return out;
}

}  // namespace dance::peers
