#include "regsweep/util/style.h"

namespace regsweep::util {

std::optional<ColorMode> parse_color_mode(std::string_view text) {
  if (text == "auto") return ColorMode::Auto;
  if (text == "always" || text == "yes") return ColorMode::Always;
  if (text == "never" || text == "no") return ColorMode::Never;
  return std::nullopt;
}

bool color_wanted(ColorMode mode, bool is_terminal, const char* no_color_env, const char* term_env) {
  switch (mode) {
    case ColorMode::Always: return true;
    case ColorMode::Never: return false;
    case ColorMode::Auto: break;
  }
  if (!is_terminal) return false;
  if (no_color_env && *no_color_env) return false;
  if (term_env && std::string_view(term_env) == "dumb") return false;
  return true;
}

std::string Style::wrap(std::string_view sgr, std::string_view text) const {
  if (!enabled_ || text.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + sgr.size() + 7);
  out += "\033[";
  out += sgr;
  out += 'm';
  out += text;
  out += "\033[0m";
  return out;
}

}  // namespace regsweep::util
