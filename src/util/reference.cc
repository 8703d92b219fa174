#include "regsweep/util/reference.h"

#include <cctype>

#include "regsweep/error.h"
#include "regsweep/util/names.h"

namespace regsweep::util {

namespace {

// A registry host as distribution/reference spells it: DNS labels of letters, digits and
// hyphens joined by '.', or a bracketed IPv6 address, with an optional :port.
bool is_host(std::string_view h) {
  if (auto colon = h.rfind(':'); colon != std::string_view::npos && h.find(']', colon) == std::string_view::npos) {
    std::string_view port = h.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    h = h.substr(0, colon);
  }
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    return h.substr(1, h.size() - 2).find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos;
  if (h.empty()) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// The first component is a host when it has a '.' or ':' or is "localhost" (the same rule
// as the docker CLI and distribution/reference), is a valid host, and something follows it.
// "../x" is not a host: it stays, and the name grammar refuses it.
std::string_view drop_host(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return s;
  std::string_view first = s.substr(0, slash);
  bool looks_like_host =
      first == "localhost" || first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos;
  return looks_like_host && is_host(first) ? s.substr(slash + 1) : s;
}

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw UsageError("invalid reference \"" + std::string(text) + "\": " + why, "",
                   "references look like team/app:v1 or team/app@sha256:<64 hex>");
}

std::string checked_repository(std::string_view full, std::string_view name) {
  if (name.empty()) bad(full, "no repository name");
  if (!is_valid_repository_name(name))
    bad(full, "repository name \"" + std::string(name) + "\" is outside the registry's grammar (lower case, digits, . _ -, components joined by /)");
  return std::string(name);
}

}  // namespace

ImageReference parse_image_reference(std::string_view text) {
  std::string_view rest = drop_host(text);
  ImageReference ref;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    ref.repository = checked_repository(text, rest.substr(0, at));
    ref.digest = Digest::parse(digest);
    if (!ref.digest) bad(text, "digest must be sha256:<64 lowercase hex>");
    return ref;
  }
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) bad(text, "no tag or digest (repo:tag or repo@sha256:...)");
  ref.repository = checked_repository(text, rest.substr(0, colon));
  ref.tag = std::string(rest.substr(colon + 1));
  if (!is_valid_tag(ref.tag)) bad(text, "tag \"" + ref.tag + "\" is outside the registry's grammar");
  return ref;
}

std::string parse_repository_name(std::string_view text) { return checked_repository(text, drop_host(text)); }

}  // namespace regsweep::util
