#pragma once
// Colour for people: decided once per stream, then applied by small wrappers. Pure: the
// caller passes in what it knows about the terminal and the environment.
#include <optional>
#include <string>
#include <string_view>

namespace regsweep::util {

enum class ColorMode { Auto, Always, Never };

// "auto", "always", "never" (also "yes"/"no"); nullopt for anything else.
std::optional<ColorMode> parse_color_mode(std::string_view text);

// Auto means: the stream is a terminal, NO_COLOR is unset or empty (no-color.org), and
// TERM is not "dumb". Always and Never are what the user asked for, NO_COLOR or not.
bool color_wanted(ColorMode mode, bool is_terminal, const char* no_color_env, const char* term_env);

// Wraps text in ANSI SGR sequences when enabled; returns it unchanged otherwise.
class Style {
 public:
  explicit Style(bool enabled = false) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  std::string bold(std::string_view text) const { return wrap("1", text); }
  std::string dim(std::string_view text) const { return wrap("2", text); }
  std::string red(std::string_view text) const { return wrap("1;31", text); }
  std::string yellow(std::string_view text) const { return wrap("33", text); }
  std::string green(std::string_view text) const { return wrap("32", text); }

 private:
  std::string wrap(std::string_view sgr, std::string_view text) const;
  bool enabled_;
};

}  // namespace regsweep::util
