#include "cli/tlsa_arg.hpp"

#include <sstream>

namespace dance::cli {

std::optional<dns::TlsaRecord> parse_tlsa_argument(const std::string& text, std::string& error) {
    std::istringstream fields(text);
    unsigned usage = 0, selector = 0, matching = 0;
    std::string hex;
    if (!(fields >> usage >> selector >> matching >> hex) || usage > 3 || selector > 1 || matching > 2 ||
        hex.size() % 2 != 0) {
        error = "expected a TLSA record \"USAGE SELECTOR MATCHING HEX\", got \"" + text + "\"";
        return std::nullopt;
    }
    dns::TlsaRecord record{static_cast<uint8_t>(usage), static_cast<uint8_t>(selector),
                           static_cast<uint8_t>(matching), {}};
    for (size_t i = 0; i < hex.size(); i += 2) {
        try {
            record.data.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
        } catch (const std::exception&) {
            error = "bad hex in TLSA record \"" + text + "\"";
            return std::nullopt;
        }
    }
    return record;
}

}  // namespace dance::cli
