#include "tests/peers/join_server/device_table.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace dance::peers {
namespace {

template <std::size_t N>
std::array<uint8_t, N> hex_field(const std::string& hex, const std::string& what) {
    const auto value = fixed_from_hex<N>(hex);
    if (!value) throw std::runtime_error(what + ": expected " + std::to_string(2 * N) + " hex digits");
    return *value;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
    return parts;
}

void add_device(JoinServerConfig& config, const Eui& dev_eui, Device device) {
    if (!config.devices.emplace(dev_eui, std::move(device)).second)
        throw std::runtime_error("device " + to_hex(dev_eui) + " listed twice");
}

Device device_from_json(const nlohmann::json& entry) {
    Device device;
    device.nwk_key = hex_field<16>(entry.at("nwk_key").get<std::string>(), "nwk_key");
    if (entry.contains("app_key")) device.app_key = hex_field<16>(entry["app_key"].get<std::string>(), "app_key");
    device.mac_version = entry.value("mac_version", device.mac_version);
    device.join_nonce = entry.value("join_nonce", 0u);
    return device;
}

}  // namespace

void load_config_file(const std::string& path, JoinServerConfig& config) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot read " + path);
    try {
        const nlohmann::json root = nlohmann::json::parse(file);
        for (const auto& entry : root.value("devices", nlohmann::json::array())) {
            const Eui dev_eui = hex_field<8>(entry.at("dev_eui").get<std::string>(), "dev_eui");
            add_device(config, dev_eui, device_from_json(entry));
        }
        if (root.contains("kek")) {
            const auto& kek = root["kek"];
            config.kek = Kek{kek.at("label").get<std::string>(),
                             hex_field<16>(kek.at("key").get<std::string>(), "kek.key")};
        }
    } catch (const nlohmann::json::exception& error) {
        throw std::runtime_error(path + ": " + error.what());
    }
}

void add_device_option(const std::string& option, JoinServerConfig& config) {
    const auto parts = split(option, ':');
    if (parts.size() < 2 || parts.size() > 4)
        throw std::runtime_error("--device wants DEVEUI:NWKKEY[:APPKEY[:JOINNONCE]]");
    Device device;
    device.nwk_key = hex_field<16>(parts[1], "--device NWKKEY");
    if (parts.size() > 2 && !parts[2].empty()) device.app_key = hex_field<16>(parts[2], "--device APPKEY");
    if (parts.size() > 3) device.join_nonce = static_cast<uint32_t>(std::stoul(parts[3]));
    add_device(config, hex_field<8>(parts[0], "--device DEVEUI"), std::move(device));
}

Kek parse_kek_option(const std::string& option) {
    const auto colon = option.rfind(':');
    if (colon == std::string::npos || colon == 0) throw std::runtime_error("--kek wants LABEL:KEKHEX");
    return Kek{option.substr(0, colon), hex_field<16>(option.substr(colon + 1), "--kek key")};
}

}  // namespace dance::peers
