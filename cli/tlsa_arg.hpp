// "3 1 1 ab12..." on the command line.
#pragma once

#include <optional>
#include <string>

#include "dns/tlsa_record.hpp"

namespace dance::cli {

std::optional<dns::TlsaRecord> parse_tlsa_argument(const std::string& text, std::string& error);

}  // namespace dance::cli
