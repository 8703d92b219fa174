#include "regsweep/storage/link.h"

namespace regsweep::storage {

namespace {
// algorithm ":" encoded, in the digest grammar: [a-z0-9]+([+._-][a-z0-9]+)* ":" [a-zA-Z0-9=_-]+
bool is_other_algorithm(std::string_view s) {
  auto colon = s.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == s.size()) return false;
  std::string_view alg = s.substr(0, colon), enc = s.substr(colon + 1);
  if (alg == "sha256") return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (std::size_t i = 0; i < alg.size(); ++i) {
    bool sep = alg[i] == '+' || alg[i] == '.' || alg[i] == '_' || alg[i] == '-';
    if (sep ? (i == 0 || i + 1 == alg.size() || !alnum(alg[i - 1])) : !alnum(alg[i])) return false;
  }
  for (char c : enc)
    if (!(alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-')) return false;
  return true;
}
}  // namespace

LinkParse parse_link(std::string_view content) {
  LinkParse r;
  if (content.empty()) {
    r.problem = FindingKind::LinkEmpty;
  } else if (auto d = Digest::parse(content)) {
    r.digest = d;
  } else if (is_other_algorithm(content)) {
    r.problem = FindingKind::LinkWrongAlgorithm;
  } else {
    r.problem = FindingKind::LinkMalformed;
  }
  return r;
}

}  // namespace regsweep::storage
