// The join server's devices and key-encryption key, from a JSON file and/or command-line options.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "tests/peers/bytes.hpp"

namespace dance::peers {

struct Device {
    Key nwk_key{};                // the AppKey of LoRaWAN 1.0.x, the NwkKey of 1.1
    std::optional<Key> app_key;   // needed for LoRaWAN 1.1 requests
    std::string mac_version = "1.0.2";  // used when a JoinReq carries no MACVersion
    uint32_t join_nonce = 0;      // last JoinNonce sent; the next join uses join_nonce + 1
};

struct Kek {
    std::string label;
    Key key{};
};

struct JoinServerConfig {
    std::map<Eui, Device> devices;
    std::optional<Kek> kek;  // when set, session keys are sent RFC 3394-wrapped under this label
};

// File format:
// {"devices":[{"dev_eui":"0102030405060708","nwk_key":"<32 hex>","app_key":"<32 hex>",
//              "mac_version":"1.0.2","join_nonce":65535}],
//  "kek":{"label":"ns-kek","key":"<32 hex>"}}
// Throws std::runtime_error naming the bad field.
void load_config_file(const std::string& path, JoinServerConfig& config);

// "DEVEUI:NWKKEY[:APPKEY[:JOINNONCE]]"
void add_device_option(const std::string& option, JoinServerConfig& config);
// "LABEL:KEKHEX"
Kek parse_kek_option(const std::string& option);

}  // namespace dance::peers
