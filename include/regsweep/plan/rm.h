#pragma once
// `rm`: deleting tags, digests and whole repositories, as the registry's API would.
#include <string>
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
};

// Throws Error (naming the path) for an unknown repository, tag or digest, or a tag whose
// current link cannot be read: all references are checked before a plan is returned.
//
// repo:tag and repo@digest do what DELETE /v2/<repo>/manifests/<digest> does: the
// revision link file goes (its folder stays), and the folder of every tag whose current
// link names the digest. Unless referrers is false, the cosign-style tags
// sha256-<hex>(.sig|.att|.sbom) and untagged manifests whose subject is the digest go too
// (recursively) — the one deliberate difference from the API, noted in the plan.
Plan plan_rm(const storage::Model& model, const RmRequest& request);

}  // namespace regsweep::plan
