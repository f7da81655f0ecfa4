#include "proxy/lorawan/lorawan_answer.hpp"

#include <nlohmann/json.hpp>

#include "proxy/lorawan/lorawan_message.hpp"

namespace dance::proxy {
namespace {

constexpr std::string_view kRequestSuffix = "Req";
constexpr std::string_view kAnswerSuffix = "Ans";
constexpr const char* kDefaultProtocolVersion = "1.0";

nlohmann::ordered_json error_result(std::string_view result_code, std::string_view description) {
    return {{"ResultCode", std::string(result_code)}, {"Description", std::string(description)}};
}

std::string serialize(const nlohmann::ordered_json& answer) {
    // replace: a description with invalid UTF-8 must not make serialization throw
    return answer.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string answer_type_for(std::string_view message_type) {
    if (message_type.size() <= kRequestSuffix.size() || !message_type.ends_with(kRequestSuffix)) return "";
    std::string answer(message_type.substr(0, message_type.size() - kRequestSuffix.size()));
    answer += kAnswerSuffix;
    return answer;
}

std::string error_answer_body(std::string_view request_body, std::string_view description,
                              std::string_view result_code) {
    try {
        const auto request = parse_backend_message(request_body);
        const std::string answer_type = request ? answer_type_for(request->message_type) : "";
        if (answer_type.empty()) return serialize(error_result(result_code, description));

        nlohmann::ordered_json answer;
        answer["ProtocolVersion"] =
            request->protocol_version.empty() ? kDefaultProtocolVersion : request->protocol_version;
        answer["SenderID"] = request->receiver_id;
        answer["ReceiverID"] = request->sender_id;
        if (request->transaction_id) answer["TransactionID"] = *request->transaction_id;
        answer["MessageType"] = answer_type;
        answer["Result"] = error_result(result_code, description);
        return serialize(answer);
    } catch (...) {  // only allocation failure can get here
        return R"({"ResultCode":"Other","Description":"internal error"})";
    }
}

}  // namespace dance::proxy
