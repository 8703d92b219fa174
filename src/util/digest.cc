#include "regsweep/util/digest.h"

#include "regsweep/util/hex.h"

namespace regsweep {

std::string Digest::hex() const { return util::to_hex(bytes.data(), bytes.size()); }

std::string Digest::str() const { return std::string(kSha256Prefix) + hex(); }

std::string Digest::prefix() const { return hex().substr(0, 2); }

std::optional<Digest> Digest::from_hex(std::string_view hex) {
  Digest d;
  if (hex.size() != 64 || !util::from_lower_hex(hex, d.bytes.data())) return std::nullopt;
  return d;
}

std::optional<Digest> Digest::parse(std::string_view text) {
  if (!text.starts_with(kSha256Prefix)) return std::nullopt;
  return from_hex(text.substr(kSha256Prefix.size()));
}

}  // namespace regsweep
