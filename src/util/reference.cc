#include "regsweep/util/reference.h"

#include "regsweep/error.h"
#include "regsweep/util/names.h"

namespace regsweep::util {

namespace {

// The first component is a host when it has a '.' or ':' or is "localhost" (the same rule
// as the docker CLI and distribution/reference) and something follows it.
std::string_view drop_host(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return s;
  std::string_view first = s.substr(0, slash);
  if (first == "localhost" || first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos)
    return s.substr(slash + 1);
  return s;
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
