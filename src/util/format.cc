#include "regsweep/util/format.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace regsweep::util {

std::string human_bytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 6> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (v >= 1024 && unit + 1 < kUnits.size()) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[unit]);
  if (std::string_view(buf).starts_with("1024 ") && unit + 1 < kUnits.size())  // 1048575 B is 1.0 MiB
    std::snprintf(buf, sizeof buf, "1.0 %s", kUnits[unit + 1]);
  return buf;
}

namespace {
// Seconds of `epoch_ns` (rounded down, also before 1970) through strftime, in UTC or local time.
std::string format_time(std::int64_t epoch_ns, const char* format, bool local) {
  std::int64_t secs = epoch_ns / 1'000'000'000;
  if (epoch_ns % 1'000'000'000 < 0) --secs;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!(local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm))) return "-";
  char buf[64];
  return std::strftime(buf, sizeof buf, format, &tm) ? std::string(buf) : std::string("-");
}
}  // namespace

std::string rfc3339_utc(std::int64_t epoch_ns) { return format_time(epoch_ns, "%Y-%m-%dT%H:%M:%SZ", false); }

std::string local_time(std::int64_t epoch_ns) { return format_time(epoch_ns, "%Y-%m-%d %H:%M:%S %z", true); }

namespace {
bool take_int(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) return false;
  for (std::size_t i = 0; i < digits; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + digits, out);
  if (ec != std::errc() || p != s.data() + digits) return false;
  s.remove_prefix(digits);
  return true;
}
bool take_char(std::string_view& s, char c) {
  if (s.empty() || s[0] != c) return false;
  s.remove_prefix(1);
  return true;
}
}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  int y, mo, d, h, mi, sec;
  if (!take_int(s, 4, y) || !take_char(s, '-') || !take_int(s, 2, mo) || !take_char(s, '-') ||
      !take_int(s, 2, d) || !(take_char(s, 'T') || take_char(s, 't') || take_char(s, ' ')) ||
      !take_int(s, 2, h) || !take_char(s, ':') || !take_int(s, 2, mi) || !take_char(s, ':') ||
      !take_int(s, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::int64_t frac_ns = 0;
  if (take_char(s, '.')) {
    std::int64_t scale = 100'000'000;
    std::size_t n = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      frac_ns += (s[0] - '0') * scale;
      scale /= 10;
      s.remove_prefix(1);
      ++n;
    }
    if (n == 0) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (take_char(s, 'Z') || take_char(s, 'z')) {
  } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!take_int(s, 2, oh) || !take_char(s, ':') || !take_int(s, 2, om)) return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != d || back.tm_mon != mo - 1) return std::nullopt;  // Feb 31 is not Mar 3
  std::int64_t secs = static_cast<std::int64_t>(t) - offset;
  // Nanoseconds since 1970 fit in 64 bits from 1677 to 2262; outside that (a Go zero time,
  // 9999-12-31) the text is no time regsweep can use.
  if (secs <= INT64_MIN / 1'000'000'000 || secs >= INT64_MAX / 1'000'000'000) return std::nullopt;
  return secs * 1'000'000'000 + frac_ns;
}

std::optional<std::int64_t> parse_duration_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  // A bare number needs a unit ("1" could mean seconds, hours or days), except 0: zero is
  // zero in every unit.
  if (s == "0") return 0;
  std::int64_t total = 0;
  while (!s.empty()) {
    std::int64_t n = 0;
    if (s[0] < '0' || s[0] > '9') return std::nullopt;  // no sign: "-0s" is no duration
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p == s.data() || n < 0) return std::nullopt;
    s.remove_prefix(static_cast<std::size_t>(p - s.data()));
    if (s.empty()) return std::nullopt;  // a unit is required
    std::int64_t unit;
    switch (s[0]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return std::nullopt;
    }
    s.remove_prefix(1);
    if (n > (INT64_MAX / 1'000'000'000) / unit) return std::nullopt;  // keep ns arithmetic safe
    total += n * unit;
    if (total > INT64_MAX / 1'000'000'000) return std::nullopt;
  }
  return total;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string_view trim_space(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace regsweep::util
