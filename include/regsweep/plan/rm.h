#pragma once
// `rm`: deleting tags, digests and whole repositories, as the registry's API would.
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/plan/simulate.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/reference.h"

namespace regsweep::plan {

struct RmRequest {
  std::vector<util::ImageReference> references;
  std::vector<std::string> repositories;  // --repository
  bool untag = false;                     // remove only the tag folder
  bool referrers = true;                  // also cosign tags and subject referrers
  bool break_index = false;               // --break-index: a child of an index a staying tag names may go
  // The note said when referrers go too, worded for the caller (the menu has no
  // --no-referrers); empty: the command line's.
  std::string referrer_note;
  // (repository, tag) pairs that must stay whatever is deleted (prune's kept tags): following
  // referrers never removes them, nor the manifests they name.
  std::set<std::pair<std::string, std::string>> kept_tags;
};

// Throws Error (naming the path) for an unknown repository, tag or digest, or a tag whose
// current link cannot be read: all references are checked before a plan is returned.
//
// repo:tag and repo@digest do what DELETE /v2/<repo>/manifests/<digest> does: the
// revision link file goes (its folder stays), and the folder of every tag whose current
// link names the digest. Unless referrers is false, the cosign-style tags
// sha256-<hex>(.sig|.att|.sbom) and the manifests whose subject is the digest go too
// (recursively) — the one deliberate difference from the API, noted in the plan. Following
// referrers never removes a tag the user did not name: a referrer manifest that another tag
// names (or a kept tag, or an index a staying tag names, holds) stays, and only its
// cosign-style tag of the deleted digest is removed.
//
// Throws SafetyRefusal, naming the tags and platforms, when a deleted digest is a child of an
// index that a staying tag names (the index could no longer be pulled completely), unless
// break_index.
Plan plan_rm(const storage::Model& model, const RmRequest& request);

// True for cosign-style referrer tags: sha256-<64 hex> with an optional .sig/.att/.sbom.
bool is_referrer_tag(std::string_view tag);

}  // namespace regsweep::plan
