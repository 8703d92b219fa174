#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace regsweep::util {

std::string to_hex(const std::uint8_t* data, std::size_t n);

// Decodes lowercase hex (upper case is refused: the registry writes lower case only).
// `out` must hold hex.size()/2 bytes. Returns false on odd length or a bad character.
bool from_lower_hex(std::string_view hex, std::uint8_t* out);

inline bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace regsweep::util
