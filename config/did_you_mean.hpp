// Suggestions for misspelt keys and enum values.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace dance::config {

// Optimal-string-alignment distance (a transposition counts as one edit), case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate when it is close enough to be a likely typo, else "".
std::string closest_match(std::string_view word, std::span<const std::string_view> candidates);

// " (did you mean \"x\"?)" or "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace dance::config
