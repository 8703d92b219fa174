#include "regsweep/util/selection.h"

#include <algorithm>
#include <charconv>

namespace regsweep::util {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
std::optional<std::size_t> number(std::string_view s) {
  s = trim(s);
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}
}  // namespace

std::optional<std::vector<std::size_t>> parse_selection(std::string_view text, std::size_t max) {
  std::vector<std::size_t> out;
  text = trim(text);
  if (text.empty()) return std::nullopt;
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    std::size_t dash = part.find('-');
    auto lo = number(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : number(part.substr(dash + 1));
    if (!lo || !hi || *lo == 0 || *hi < *lo || *hi > max) return std::nullopt;
    for (std::size_t i = *lo; i <= *hi; ++i) out.push_back(i);
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace regsweep::util
