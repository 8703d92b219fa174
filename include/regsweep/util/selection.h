#pragma once
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace regsweep::util {

// "1,3,5-9" -> {1,3,5,6,7,8,9} (1-based, sorted, unique), each within [1, max].
// nullopt for anything else (empty, 0, out of range, reversed range, garbage).
std::optional<std::vector<std::size_t>> parse_selection(std::string_view text, std::size_t max);

}  // namespace regsweep::util
