// JoinReq bodies shaped like ChirpStack v3 or v4 network servers send them, with valid MICs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tests/peers/lorawan_crypto.hpp"

namespace dance::peers {

enum class NsShape { v3, v4 };

struct EmulatedDevice {
    Eui dev_eui{};
    Eui join_eui{};
    Key nwk_key{};
    std::optional<Key> app_key;  // lets 1.1 answers' AppSKey be checked
    std::string mac_version = "1.0.2";
    NetId net_id{};              // the NS's NetID: SenderID
    DevAddr dev_addr{};
    uint8_t dl_settings = 0x15;  // OptNeg is added for 1.1
    uint8_t rx_delay = 1;
    Bytes cf_list;
    bool corrupt_mic = false;    // for MICFailed tests
};

struct JoinReqToSend {
    std::string body;
    uint16_t dev_nonce = 0;
};

// The HTTP headers each shape's client sends besides Host and Content-Length.
std::vector<std::pair<std::string, std::string>> shape_headers(NsShape shape);

JoinReqToSend make_join_req(NsShape shape, const EmulatedDevice& device, uint16_t dev_nonce,
                            uint32_t transaction_id);

}  // namespace dance::peers
