#include "tests/peers/ns_emulator/answer_check.hpp"

#include <nlohmann/json.hpp>

namespace dance::peers {
namespace {

using nlohmann::json;

std::string read_result_code(const json& answer) {
    const auto result = answer.find("Result");
    if (result != answer.end() && result->is_object() && result->contains("ResultCode") &&
        (*result)["ResultCode"].is_string())
        return (*result)["ResultCode"].get<std::string>();
    if (answer.contains("ResultCode") && answer["ResultCode"].is_string()) return answer["ResultCode"];
    return "missing";
}

// "" when the envelope holds the expected plain key, or a wrapped one (its KEK is not ours to know).
std::string key_problem(const json& answer, const char* name, const Key& expected) {
    const auto envelope = answer.find(name);
    if (envelope == answer.end() || !envelope->is_object()) return std::string(name) + " missing";
    if (!envelope->value("KEKLabel", std::string()).empty()) return "";
    if (envelope->value("AESKey", std::string()) != to_hex(expected)) return std::string(name) + " differs";
    return "";
}

std::string first_problem(std::initializer_list<std::string> problems) {
    for (const auto& problem : problems)
        if (!problem.empty()) return problem;
    return "";
}

std::string crypto_problem(const json& answer, const EmulatedDevice& device, uint16_t dev_nonce) {
    const auto phy_payload = from_hex(answer.value("PHYPayload", std::string()));
    if (!phy_payload) return "PHYPayload missing";
    if (device.mac_version.starts_with("1.1")) {
        const Key js_int_key = derive_js_int_key(device.nwk_key, device.dev_eui);
        const auto accept = open_join_accept_11(device.nwk_key, js_int_key, device.join_eui, dev_nonce, *phy_payload);
        if (!accept) return "JoinAccept MIC or format invalid";
        if (accept->dev_addr != device.dev_addr) return "JoinAccept DevAddr differs";
        const auto keys = derive_session_keys_11(device.nwk_key, device.app_key.value_or(device.nwk_key),
                                                 accept->join_nonce, device.join_eui, dev_nonce);
        return first_problem({key_problem(answer, "SNwkSIntKey", keys.s_nwk_s_int_key),
                              key_problem(answer, "FNwkSIntKey", keys.f_nwk_s_int_key),
                              key_problem(answer, "NwkSEncKey", keys.nwk_s_enc_key),
                              device.app_key ? key_problem(answer, "AppSKey", keys.app_s_key) : ""});
    }
    const auto accept = open_join_accept_10(device.nwk_key, *phy_payload);
    if (!accept) return "JoinAccept MIC or format invalid";
    if (accept->dev_addr != device.dev_addr) return "JoinAccept DevAddr differs";
    const auto keys = derive_session_keys_10(device.nwk_key, accept->join_nonce, device.net_id, dev_nonce);
    return first_problem(
        {key_problem(answer, "NwkSKey", keys.nwk_s_key), key_problem(answer, "AppSKey", keys.app_s_key)});
}

}  // namespace

CheckedAnswer check_join_answer(std::string_view body, const EmulatedDevice& device, uint16_t dev_nonce,
                                uint32_t transaction_id, bool verify_crypto) {
    const json answer = json::parse(body, nullptr, false);
    if (answer.is_discarded() || !answer.is_object()) return {"unparseable", ""};
    CheckedAnswer checked{read_result_code(answer), ""};
    if (!answer.contains("MessageType")) return checked;  // the bare error form
    try {
        if (answer["MessageType"] != "JoinAns")
            checked.problem = "MessageType is not JoinAns";
        else if (answer.value("TransactionID", json()) != json(transaction_id))
            checked.problem = "TransactionID not echoed";
        else if (answer.value("ReceiverID", std::string()) != to_hex(device.net_id) ||
                 answer.value("SenderID", std::string()) != to_hex(device.join_eui))
            checked.problem = "SenderID/ReceiverID not swapped";
        else if (checked.result_code == "Success" && verify_crypto)
            checked.problem = crypto_problem(answer, device, dev_nonce);
    } catch (const json::exception&) {
        checked.problem = "JoinAns field of the wrong type";
    }
    return checked;
}

}  // namespace dance::peers
