#include "regsweep/util/hex.h"

#include <array>

namespace regsweep::util {

namespace {
// Each byte's value as a lowercase hex digit, 0xff for any other byte: one load per
// character (every digest of a million-file walk is parsed from its hex).
constexpr std::array<std::uint8_t, 256> kNibble = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  return t;
}();
}  // namespace

std::string to_hex(const std::uint8_t* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

bool from_lower_hex(std::string_view hex, std::uint8_t* out) {
  if (hex.size() % 2 != 0) return false;
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const std::uint8_t hi = kNibble[static_cast<unsigned char>(hex[i])], lo = kNibble[static_cast<unsigned char>(hex[i + 1])];
    bad |= hi | lo;
    out[i / 2] = static_cast<std::uint8_t>(hi << 4 | (lo & 0xf));
  }
  return bad < 0x10;  // no 0xff among the digits
}

}  // namespace regsweep::util
