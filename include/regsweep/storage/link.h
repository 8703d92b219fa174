#pragma once
// Link files: "sha256:<64 lowercase hex>", 71 bytes, no trailing newline.
#include <string_view>

#include "regsweep/storage/finding.h"
#include "regsweep/util/digest.h"

namespace regsweep::storage {

struct LinkParse {
  std::optional<Digest> digest;      // set when the content is a valid sha256 link
  FindingKind problem{};              // why not, when digest is empty
  bool ok() const { return digest.has_value(); }
};

// Strict, as the registry writes them. A trailing newline is a finding (the registry's
// parser rejects it), not silently accepted.
LinkParse parse_link(std::string_view content);

}  // namespace regsweep::storage
