#include "config/did_you_mean.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace dance::config {
namespace {

bool same_letter(char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

size_t typo_budget(size_t length) {
    if (length <= 4) return 1;
    if (length <= 8) return 2;
    return 3;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
    const size_t rows = a.size() + 1, columns = b.size() + 1;
    std::vector<size_t> d(rows * columns);
    auto at = [&](size_t i, size_t j) -> size_t& { return d[i * columns + j]; };
    for (size_t i = 0; i < rows; ++i) at(i, 0) = i;
    for (size_t j = 0; j < columns; ++j) at(0, j) = j;
    for (size_t i = 1; i < rows; ++i) {
        for (size_t j = 1; j < columns; ++j) {
            size_t cost = same_letter(a[i - 1], b[j - 1]) ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) && same_letter(a[i - 2], b[j - 1]))
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
        }
    }
    return at(a.size(), b.size());
}

std::string closest_match(std::string_view word, std::span<const std::string_view> candidates) {
    std::string_view best;
    size_t best_distance = typo_budget(word.size()) + 1;
    for (std::string_view candidate : candidates) {
        size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return std::string(best);
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    std::string match = closest_match(word, candidates);
    return match.empty() ? "" : " (did you mean \"" + match + "\"?)";
}

}  // namespace dance::config
