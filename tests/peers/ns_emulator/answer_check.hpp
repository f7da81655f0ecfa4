// Reads a join server's answer as the NS would, and checks a successful JoinAns like the device would:
// JoinAccept MIC, DevAddr, and session keys re-derived from the device's own keys.
#pragma once

#include <string>
#include <string_view>

#include "tests/peers/ns_emulator/join_request_factory.hpp"

namespace dance::peers {

struct CheckedAnswer {
    std::string result_code;  // "unparseable" when the body is not a JSON object with a ResultCode
    std::string problem;      // "" when the answer is consistent with the request
};

CheckedAnswer check_join_answer(std::string_view body, const EmulatedDevice& device, uint16_t dev_nonce,
                                uint32_t transaction_id, bool verify_crypto);

}  // namespace dance::peers
