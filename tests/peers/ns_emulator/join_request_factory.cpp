#include "tests/peers/ns_emulator/join_request_factory.hpp"

#include <nlohmann/json.hpp>

namespace dance::peers {

std::vector<std::pair<std::string, std::string>> shape_headers(NsShape shape) {
    if (shape == NsShape::v3)  // Go net/http defaults
        return {{"User-Agent", "Go-http-client/1.1"},
                {"Content-Type", "application/json"},
                {"Accept-Encoding", "gzip"}};
    return {{"content-type", "application/json"}, {"accept", "*/*"}};  // Rust reqwest defaults
}

JoinReqToSend make_join_req(NsShape shape, const EmulatedDevice& device, uint16_t dev_nonce,
                            uint32_t transaction_id) {
    Bytes phy_payload = build_join_request(device.nwk_key, device.join_eui, device.dev_eui, dev_nonce);
    if (device.corrupt_mic) phy_payload.back() ^= 0x01;
    const bool lorawan11 = device.mac_version.starts_with("1.1");
    const uint8_t dl_settings = lorawan11 ? device.dl_settings | kOptNegBit : device.dl_settings;

    nlohmann::ordered_json body;
    body["ProtocolVersion"] = "1.0";
    body["SenderID"] = to_hex(device.net_id);
    body["ReceiverID"] = to_hex(device.join_eui);
    body["TransactionID"] = transaction_id;
    body["MessageType"] = "JoinReq";
    if (shape == NsShape::v3) body["VSExtension"] = nlohmann::ordered_json::object();
    body["MACVersion"] = device.mac_version;
    body["PHYPayload"] = to_hex(phy_payload);
    body["DevEUI"] = to_hex(device.dev_eui);
    body["DevAddr"] = to_hex(device.dev_addr);
    body["DLSettings"] = to_hex(&dl_settings, 1);
    body["RxDelay"] = device.rx_delay;
    if (!device.cf_list.empty()) body["CFList"] = to_hex(device.cf_list);
    return {body.dump(), dev_nonce};
}

}  // namespace dance::peers
