#pragma once
// Retention policies: which tags a rule set deletes, and the plan that deletes them.
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

struct PrunePolicy {
  std::vector<std::string> repo_globs;      // empty: every repository
  std::vector<std::string> match;           // tags considered (regex, search); empty: all
  std::vector<std::string> keep;            // tags never deleted; win over every other rule
  std::optional<std::uint64_t> keep_last;   // of the considered, not-kept tags, the N newest stay
  std::optional<std::int64_t> older_than_s; // only tags pushed longer ago may go
  bool untagged = false;                    // also delete untagged manifests (as gc -m)
  bool referrers = true;
  std::int64_t now_ns = 0;
  // Online (the API has no push time): the tags' pushed_ns hold the image's creation time, and
  // the reasons say "created"; the tags whose image has none are kept by age rules (keep_last,
  // older_than), never ranked or judged by a time they do not have.
  bool times_are_created = false;
  std::set<std::pair<std::string, std::string>> undated;  // (repository, tag)
};

enum class TagVerdict : std::uint8_t { Deleted, Kept };

struct TagDecision {
  std::string repository;
  std::string tag;
  std::optional<Digest> digest;
  std::int64_t pushed_ns = 0;
  TagVerdict verdict = TagVerdict::Kept;
  std::string reason;        // "kept: matches --keep ^latest$", "deleted: older than 30d", ...
  bool untag_only = false;   // deleted, but its digest stays: a kept tag shares it
};

struct PrunePlan {
  Plan plan;
  std::vector<TagDecision> decisions;  // every tag of every selected repository
  std::uint64_t untagged_manifests = 0;
  // Per repository with deletions: what a GC would free if only its part of the plan ran.
  std::map<std::string, std::uint64_t> gc_would_free_by_repository;
};

// Throws UsageError for an invalid regex or glob. `created_ns` gives the config's `created`
// time of manifests (read by the caller; ties of --keep-last are broken by it, then by name).
//
// A tag is deleted iff it is considered (--match), not kept (--keep), not among the
// keep_last most recently pushed of the considered, not-kept tags, and older than
// older_than (when given). Cosign-style referrer tags (sha256-<hex>.sig/.att/.sbom,
// sha256-<hex>) are not judged on their own: they go with their subject, as in rm, unless a
// --keep matches them. When a deleted tag's digest is also the current digest of a tag that
// stays (a cosign-style tag stays with its subject), or a staying index lists it, only the
// tag goes (an untag): a keep rule can never be defeated by a shared digest, and following
// referrers never removes a kept tag or the manifest it names.
//
// The decisions are the plan read per tag (a tag is `Deleted` exactly when the plan removes
// it); a plan that would remove a kept tag or its image is refused (SafetyRefusal), never
// returned.
PrunePlan plan_prune(const storage::Model& model, const PrunePolicy& policy,
                     const std::map<Digest, std::int64_t>& created_ns);

}  // namespace regsweep::plan
