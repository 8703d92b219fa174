#include "regsweep/storage/link.h"

namespace regsweep::storage {

LinkParse parse_link(std::string_view content) {
  LinkParse r;
  if (content.empty()) {
    r.problem = FindingKind::LinkEmpty;
  } else if (auto d = Digest::parse(content)) {
    r.digest = d;
  } else if (auto colon = content.find(':'); colon != std::string_view::npos && colon > 0 && colon < 16 &&
             content.substr(0, colon) != "sha256") {
    r.problem = FindingKind::LinkWrongAlgorithm;
  } else {
    r.problem = FindingKind::LinkMalformed;
  }
  return r;
}

}  // namespace regsweep::storage
