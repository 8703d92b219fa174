#pragma once
// `--protect FILE`: images that nothing may delete (issue #20): images running workloads use,
// listed by hand, by `kubectl get pods -A -o jsonpath='{..image}'` or `'{..imageID}'`, or as
// bare digests. Pure: the file's text in, what it protects in a model out.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

struct ProtectEntry {
  std::string where;       // "file:line", for messages
  std::string repository;  // empty: a bare digest, protected in every repository
  std::string tag;         // empty: by digest
  std::optional<Digest> digest;
};

// Whitespace-separated references, one or many per line, `#` to the end of a line a comment:
// `repo:tag`, `repo` (its `latest`, as Docker reads it), `repo@sha256:...`,
// `repo:tag@sha256:...` (the digest counts), any of them behind a registry host (dropped: an
// image of the same name elsewhere is protected here too, which errs on the side of keeping),
// `docker-pullable://...` and other `scheme://` prefixes (kubectl's imageID), and bare
// `sha256:<hex>`. Throws UsageError naming `file:line` and the token for anything else.
std::vector<ProtectEntry> parse_protect_list(std::string_view text, const std::string& file);

// What the entries protect in `model`: tags (a protected tag keeps its current digest), and
// manifests per repository: the digests named and the tags' current ones, with their index
// children and their referrers (revisions whose subject is one, and cosign-style
// sha256-<hex>.sig/.att/.sbom tags with what they name), recursively.
struct Protection {
  std::map<std::pair<std::string, std::string>, std::string> tags;  // (repository, tag) -> where
  std::map<std::pair<std::string, Digest>, std::string> manifests;  // (repository, digest) -> where
  bool empty() const { return tags.empty() && manifests.empty(); }
};
Protection resolve_protection(const storage::Model& model, const std::vector<ProtectEntry>& entries);

// Throws SafetyRefusal (exit 3), naming each protected tag or manifest the plan would remove
// and the line that protects it, and saying nothing was changed.
void refuse_protected(const Plan& plan, const Protection& protection);

}  // namespace regsweep::plan
