#include "base/dns_name.hpp"

#include <algorithm>
#include <cctype>

namespace dance {
namespace {

// A JoinEUI name is 16 one-nibble labels and their dots (32 characters) plus the suffix (TS002 1.0 §19.1).
constexpr size_t max_federation_suffix_length = 253 - 32;

bool is_label_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::string why_invalid_name(std::string_view name) {
    if (name.empty()) return "empty name";
    if (name.size() > 253) return "longer than 253 characters";
    if (name.back() == '.') return "trailing dot";
    size_t label_start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            size_t length = i - label_start;
            if (length == 0) return "empty label";
            if (length > 63) return "label longer than 63 characters";
            label_start = i + 1;
            continue;
        }
        if (name[i] == '\\') return "escape sequences are not allowed";
        if (!is_label_char(name[i])) return "character not allowed in a name";
    }
    return "";
}

std::string lower_case(std::string_view name) {
    std::string lowered(name);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lowered;
}

bool allow_entry_matches(std::string_view entry, std::string_view name) {
    if (entry.size() > 2 && entry.substr(0, 2) == "*.") {
        std::string_view zone = entry.substr(1);  // ".zone"
        return name.size() > zone.size() && iequals(name.substr(name.size() - zone.size()), zone);
    }
    return iequals(entry, name);
}

std::optional<std::string> normalize_federation_suffix(std::string_view suffix, std::string& why) {
    if (suffix.starts_with('.')) suffix.remove_prefix(1);
    if (suffix.ends_with('.')) suffix.remove_suffix(1);
    if (suffix.empty()) {
        why = "empty federation suffix";
        return std::nullopt;
    }
    if (std::string invalid = why_invalid_name(suffix); !invalid.empty()) {
        why = std::move(invalid);
        return std::nullopt;
    }
    if (suffix.size() > max_federation_suffix_length) {
        why = "federation suffix longer than " + std::to_string(max_federation_suffix_length) +
              " characters: a JoinEUI name under it would exceed 253";
        return std::nullopt;
    }
    return lower_case(suffix);
}

}  // namespace dance
