#include "tests/peers/join_server/join_handler.hpp"

#include <nlohmann/json.hpp>

#include "tests/peers/aes.hpp"
#include "tests/peers/lorawan_crypto.hpp"

namespace dance::peers {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

struct JoinFields {
    JoinRequest request;
    Bytes phy_payload;
    JoinAccept accept;  // all but join_nonce
    std::string mac_version;
};

// Thrown for a request field the join server cannot use; becomes a 400 MalformedRequest JoinAns.
struct MalformedRequest {
    std::string description;
};

HttpAnswer bare_result(std::string description, std::string message_type) {
    const ordered_json body = {{"ResultCode", "Other"}, {"Description", std::move(description)}};
    return {400, body.dump(), std::move(message_type)};
}

// Never throws on a field of the wrong JSON type: falls back instead.
std::string text_field(const json& request, const char* name, const char* fallback = "") {
    const auto it = request.find(name);
    return it != request.end() && it->is_string() ? it->get<std::string>() : fallback;
}

ordered_json join_ans_header(const json& request) {
    ordered_json answer;
    answer["ProtocolVersion"] = text_field(request, "ProtocolVersion", "1.0");
    answer["SenderID"] = text_field(request, "ReceiverID");
    answer["ReceiverID"] = text_field(request, "SenderID");
    if (request.contains("TransactionID")) answer["TransactionID"] = request["TransactionID"];
    answer["MessageType"] = "JoinAns";
    answer["VSExtension"] = json::object();
    return answer;
}

HttpAnswer join_ans_error(const json& request, int status, const char* result_code, std::string description) {
    ordered_json answer = join_ans_header(request);
    answer["Result"] = {{"ResultCode", result_code}, {"Description", std::move(description)}};
    return {status, answer.dump(), "JoinReq"};
}

template <std::size_t N>
std::array<uint8_t, N> required_hex(const json& request, const char* name) {
    const auto it = request.find(name);
    if (it == request.end() || !it->is_string()) throw MalformedRequest{std::string(name) + " missing"};
    const auto value = fixed_from_hex<N>(it->get<std::string>());
    if (!value) throw MalformedRequest{std::string(name) + " is not " + std::to_string(N) + " hex bytes"};
    return *value;
}

JoinFields read_join_fields(const json& request, const Bytes& phy_payload, const JoinRequest& join_request,
                            const std::string& default_mac_version) {
    JoinFields fields;
    fields.request = join_request;
    fields.phy_payload = phy_payload;
    fields.accept.net_id = required_hex<3>(request, "SenderID");
    fields.accept.dev_addr = required_hex<4>(request, "DevAddr");
    fields.accept.dl_settings = required_hex<1>(request, "DLSettings")[0];
    const auto rx_delay = request.find("RxDelay");
    if (rx_delay == request.end() || !rx_delay->is_number_unsigned() || rx_delay->get<unsigned>() > 15)
        throw MalformedRequest{"RxDelay missing or out of range"};
    fields.accept.rx_delay = rx_delay->get<uint8_t>();
    const auto cf_list = from_hex(text_field(request, "CFList"));
    if (!cf_list || (!cf_list->empty() && cf_list->size() != 16)) throw MalformedRequest{"CFList is not 16 hex bytes"};
    fields.accept.cf_list = *cf_list;
    fields.mac_version = text_field(request, "MACVersion", default_mac_version.c_str());
    return fields;
}

ordered_json key_envelope(const Key& key, const std::optional<Kek>& kek) {
    if (!kek) return {{"KEKLabel", ""}, {"AESKey", to_hex(key)}};
    return {{"KEKLabel", kek->label}, {"AESKey", to_hex(aes_key_wrap(kek->key, key))}};
}

void add_lorawan10_accept(ordered_json& answer, const JoinFields& fields, const Device& device,
                          const std::optional<Kek>& kek) {
    answer["PHYPayload"] = to_hex(seal_join_accept_10(device.nwk_key, fields.accept));
    const auto keys = derive_session_keys_10(device.nwk_key, fields.accept.join_nonce, fields.accept.net_id,
                                             fields.request.dev_nonce);
    answer["NwkSKey"] = key_envelope(keys.nwk_s_key, kek);
    answer["AppSKey"] = key_envelope(keys.app_s_key, kek);
}

void add_lorawan11_accept(ordered_json& answer, const JoinFields& fields, const Device& device,
                          const std::optional<Kek>& kek) {
    const Key js_int_key = derive_js_int_key(device.nwk_key, fields.request.dev_eui);
    answer["PHYPayload"] = to_hex(seal_join_accept_11(device.nwk_key, js_int_key, fields.request.join_eui,
                                                      fields.request.dev_nonce, fields.accept));
    const auto keys = derive_session_keys_11(device.nwk_key, *device.app_key, fields.accept.join_nonce,
                                             fields.request.join_eui, fields.request.dev_nonce);
    answer["SNwkSIntKey"] = key_envelope(keys.s_nwk_s_int_key, kek);
    answer["FNwkSIntKey"] = key_envelope(keys.f_nwk_s_int_key, kek);
    answer["NwkSEncKey"] = key_envelope(keys.nwk_s_enc_key, kek);
    answer["AppSKey"] = key_envelope(keys.app_s_key, kek);
}

HttpAnswer answer_join_request(const json& request, JoinServerConfig& config) {
    const auto phy = from_hex(text_field(request, "PHYPayload"));
    const auto join_request = phy ? parse_join_request(*phy) : std::nullopt;
    if (!join_request) return join_ans_error(request, 400, "MalformedRequest", "PHYPayload is not a JoinRequest");
    const auto device = config.devices.find(join_request->dev_eui);
    if (device == config.devices.end()) return join_ans_error(request, 400, "UnknownDevEUI", "deveui does not exist");

    JoinFields fields;
    try {
        fields = read_join_fields(request, *phy, *join_request, device->second.mac_version);
    } catch (const MalformedRequest& malformed) {
        return join_ans_error(request, 400, "MalformedRequest", malformed.description);
    }
    const bool lorawan11 = fields.mac_version.starts_with("1.1");
    if (!lorawan11 && !fields.mac_version.starts_with("1.0"))
        return join_ans_error(request, 400, "MalformedRequest", "unsupported MACVersion");
    if (lorawan11 && !device->second.app_key)
        return join_ans_error(request, 200, "Other", "device has no AppKey for LoRaWAN 1.1");
    if (!join_request_mic_valid(device->second.nwk_key, fields.phy_payload))
        return join_ans_error(request, 200, "MICFailed", "invalid mic");
    if (device->second.join_nonce >= kMaxJoinNonce)
        return join_ans_error(request, 200, "Other", "join nonce exhausted");

    fields.accept.join_nonce = ++device->second.join_nonce;
    ordered_json answer = join_ans_header(request);
    answer["Result"] = {{"ResultCode", "Success"}, {"Description", ""}};
    if (lorawan11)
        add_lorawan11_accept(answer, fields, device->second, config.kek);
    else
        add_lorawan10_accept(answer, fields, device->second, config.kek);
    return {200, answer.dump(), "JoinReq"};
}

}  // namespace

HttpAnswer JoinHandler::answer(std::string_view body) {
    const json request = json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object()) return bare_result("request body is not a JSON object", "");
    const auto type = request.find("MessageType");
    const std::string message_type = type != request.end() && type->is_string() ? type->get<std::string>() : "";
    if (message_type != "JoinReq") return bare_result("invalid MessageType: " + message_type, message_type);
    try {
        return answer_join_request(request, config_);
    } catch (const json::exception& error) {  // a field of the wrong JSON type
        return join_ans_error(request, 400, "MalformedRequest", error.what());
    }
}

}  // namespace dance::peers
