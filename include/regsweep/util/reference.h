#pragma once
// Image references as users type them: repo:tag, repo@sha256:<hex>, with an optional
// registry host in front (myregistry:5000/team/app:v1, localhost/team/app:v1) that is
// dropped. Validated with the registry's own grammar before any work is done.
#include <optional>
#include <string>
#include <string_view>

#include "regsweep/util/digest.h"

namespace regsweep::util {

struct ImageReference {
  std::string repository;
  std::string tag;                // empty when by digest
  std::optional<Digest> digest;   // set when by digest
  std::string text() const { return digest ? repository + "@" + digest->str() : repository + ":" + tag; }
};

// Throws UsageError (naming the reference) when it is malformed: no tag or digest,
// names outside the grammar, "..", absolute paths, upper case, spaces.
ImageReference parse_image_reference(std::string_view text);

// A bare repository name (for --repository), host dropped the same way.
std::string parse_repository_name(std::string_view text);

}  // namespace regsweep::util
