// What the NS emulator measured, and its JSON summary.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dance::peers {

class LoadStats {
public:
    // latency_ms counts from the request's intended send time (constant-rate mode) or its send time.
    void add_answer(int http_status, const std::string& result_code, const std::string& problem, double latency_ms);
    void add_error(const std::string& kind);  // no HTTP answer: timeout, eof, connect, ...

    uint64_t answered() const { return latencies_ms_.size(); }
    uint64_t error_count() const { return error_count_; }
    uint64_t problem_count() const { return problem_count_; }

    // {"requests","answered","error_count","errors":{kind:n},"http_status":{"200":n},
    //  "result_codes":{"Success":n},"verify_failures","first_verify_failure",
    //  "latency_ms":{"p50","p99","p99.9","max","mean"},"duration_s","requests_per_second"}
    nlohmann::ordered_json summary(double duration_s);
    // Every answer's latency, sorted once summary() has run.
    const std::vector<double>& sorted_latencies_ms() const { return latencies_ms_; }

private:
    std::map<std::string, uint64_t> errors_;
    std::map<int, uint64_t> http_status_;
    std::map<std::string, uint64_t> result_codes_;
    std::vector<double> latencies_ms_;
    uint64_t error_count_ = 0;
    uint64_t problem_count_ = 0;
    std::string first_problem_;
};

}  // namespace dance::peers
