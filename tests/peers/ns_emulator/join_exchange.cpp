#include "tests/peers/ns_emulator/join_exchange.hpp"

#include <nlohmann/json.hpp>

namespace dance::peers {

JoinExchange::JoinExchange(NsShape shape, EmulatedDevice device, uint16_t first_dev_nonce,
                           uint32_t first_transaction_id, bool verify_crypto, LoadStats& stats)
    : shape_(shape), device_(std::move(device)), first_dev_nonce_(first_dev_nonce),
      first_transaction_id_(first_transaction_id), verify_crypto_(verify_crypto), stats_(stats) {}

uint16_t JoinExchange::dev_nonce(uint64_t index) const { return static_cast<uint16_t>(first_dev_nonce_ + index); }

uint32_t JoinExchange::transaction_id(uint64_t index) const {
    return static_cast<uint32_t>(first_transaction_id_ + index);
}

std::string JoinExchange::body(uint64_t index) {
    return make_join_req(shape_, device_, dev_nonce(index), transaction_id(index)).body;
}

void JoinExchange::on_answer(uint64_t index, int http_status, std::string_view body, double latency_ms) {
    const CheckedAnswer checked =
        check_join_answer(body, device_, dev_nonce(index), transaction_id(index), verify_crypto_);
    stats_.add_answer(http_status, checked.result_code, checked.problem, latency_ms);
    if (expected_answer_) {
        const bool match = nlohmann::json::parse(body, nullptr, false) == nlohmann::json::parse(*expected_answer_);
        exact_match_ = exact_match_.value_or(true) && match;
    }
}

void JoinExchange::on_error(uint64_t, const std::string& kind) {
    stats_.add_error(kind);
    if (expected_answer_) exact_match_ = false;
}

}  // namespace dance::peers
