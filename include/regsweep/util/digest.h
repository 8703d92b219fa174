#pragma once
// A sha256 content address held as 32 bytes: the hot paths compare and hash these,
// never the 71-character "sha256:<hex>" strings.
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace regsweep {

struct Digest {
  std::array<std::uint8_t, 32> bytes{};

  auto operator<=>(const Digest&) const = default;
  bool operator==(const Digest&) const = default;

  // 64 lowercase hex characters.
  std::string hex() const;
  // "sha256:<hex>", the form used in link files and the API.
  std::string str() const;
  // The two-character blob prefix folder ("ab" for sha256:ab...).
  std::string prefix() const;

  // Exactly 64 lowercase hex characters, nothing else.
  static std::optional<Digest> from_hex(std::string_view hex);
  // Exactly "sha256:" + 64 lowercase hex characters, nothing else.
  static std::optional<Digest> parse(std::string_view text);
};

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::uint64_t v;
    std::memcpy(&v, d.bytes.data(), sizeof v);  // already uniformly distributed
    return static_cast<std::size_t>(v);
  }
};

inline constexpr std::string_view kSha256Prefix = "sha256:";
inline constexpr std::size_t kLinkFileSize = 71;  // "sha256:" + 64 hex, no newline

}  // namespace regsweep
