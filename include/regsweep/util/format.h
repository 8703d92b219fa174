#pragma once
// Small pure helpers for showing numbers and times to people.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regsweep::util {

// 1536 -> "1.5 KiB"; below 1 KiB exact bytes ("512 B").
std::string human_bytes(std::uint64_t bytes);

// ASCII case changes (header names, environment variable names, URL schemes), and the text
// without the spaces, tabs and line ends around it.
std::string ascii_lower(std::string_view text);
std::string ascii_upper(std::string_view text);
std::string_view trim_space(std::string_view text);

// Nanoseconds since the epoch -> "2026-11-24T03:45:25Z" (UTC, RFC 3339).
std::string rfc3339_utc(std::int64_t epoch_ns);

// Nanoseconds since the epoch -> "2026-11-24 04:45:25 +0100", in the local time zone (TZ), for
// tables people read. JSON keeps rfc3339_utc.
std::string local_time(std::int64_t epoch_ns);

// Parses the RFC 3339 times the registry writes (startedat: "2026-11-24T03:45:25.123456789Z",
// with an optional numeric offset) into nanoseconds since the epoch.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// "90s", "30m", "12h", "7d", "1w" (and combinations such as "1h30m") -> seconds. A bare
// "0" is zero seconds; any other number without a unit is refused.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text);

}  // namespace regsweep::util
