#include "regsweep/util/glob.h"

namespace regsweep::util {

bool glob_match(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p.starts_with("**")) {
    std::string_view rest = p.substr(2);
    if (rest.starts_with("/")) {
      // "**/" also matches nothing at all ("a/**/b" matches "a/b").
      if (glob_match(rest.substr(1), t)) return true;
    }
    for (std::size_t i = 0; i <= t.size(); ++i)
      if (glob_match(rest, t.substr(i))) return true;
    return false;
  }
  if (p[0] == '*') {
    for (std::size_t i = 0; i <= t.size(); ++i) {
      if (glob_match(p.substr(1), t.substr(i))) return true;
      if (i < t.size() && t[i] == '/') break;
    }
    return false;
  }
  if (t.empty()) return false;
  if (p[0] == '?') return t[0] != '/' && glob_match(p.substr(1), t.substr(1));
  return p[0] == t[0] && glob_match(p.substr(1), t.substr(1));
}

}  // namespace regsweep::util
