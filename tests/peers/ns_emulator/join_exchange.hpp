// The NS emulator's requests: JoinReqs with a fresh DevNonce each, answers checked and counted.
#pragma once

#include <optional>

#include "tests/peers/ns_emulator/answer_check.hpp"
#include "tests/peers/ns_emulator/load_runner.hpp"
#include "tests/peers/ns_emulator/load_stats.hpp"

namespace dance::peers {

class JoinExchange : public Exchange {
public:
    // Request i uses DevNonce first_dev_nonce + i (mod 2^16) and TransactionID first_transaction_id + i.
    JoinExchange(NsShape shape, EmulatedDevice device, uint16_t first_dev_nonce, uint32_t first_transaction_id,
                 bool verify_crypto, LoadStats& stats);

    // Compare every answer with this exact JoinAns (parsed JSON equality): the --golden run.
    void expect_exact_answer(std::string expected_body) { expected_answer_ = std::move(expected_body); }
    std::optional<bool> exact_answer_matched() const { return exact_match_; }

    std::string body(uint64_t index) override;
    void on_answer(uint64_t index, int http_status, std::string_view body, double latency_ms) override;
    void on_error(uint64_t index, const std::string& kind) override;

private:
    uint16_t dev_nonce(uint64_t index) const;
    uint32_t transaction_id(uint64_t index) const;

    NsShape shape_;
    EmulatedDevice device_;
    uint16_t first_dev_nonce_;
    uint32_t first_transaction_id_;
    bool verify_crypto_;
    LoadStats& stats_;
    std::optional<std::string> expected_answer_;
    std::optional<bool> exact_match_;
};

}  // namespace dance::peers
