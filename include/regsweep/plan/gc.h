#pragma once
// `gc`: mark & sweep that keeps multi-arch images and referrers whole.
#include <cstdint>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

struct GcRequest {
  bool delete_untagged = false;
  std::int64_t min_age_s = 3600;                  // younger unreferenced blobs are kept
  std::int64_t uploads_older_than_s = 168 * 3600; // the registry's own purge age
  bool prune_empty_repos = false;
  bool trash_blobs = false;
  // False when the registry's own garbage-collect sweeps the blobs (--registry-bin): blobs and
  // the _layers links to them are counted in the stats but not planned.
  bool sweep_blobs = true;
  std::int64_t now_ns = 0;
};

struct GcStats {
  std::uint64_t untagged_manifests = 0;
  std::uint64_t blobs = 0;
  std::uint64_t blob_bytes = 0;
  std::uint64_t young_blobs_kept = 0;   // unreferenced but younger than --min-age
  std::uint64_t young_blob_bytes_kept = 0;
  std::uint64_t push_blobs_kept = 0;    // unreferenced, older, but linked where a push is in progress
  std::uint64_t push_blob_bytes_kept = 0;
  std::uint64_t layer_links = 0;
  std::uint64_t uploads = 0;
  std::uint64_t upload_bytes = 0;
  std::uint64_t empty_repositories = 0;
};

struct GcPlan {
  Plan plan;
  GcStats stats;
};

// Mark: every revision (or, with delete_untagged, every tag's current manifest) and,
// recursively, index children, configs, layers, and manifests whose `subject` is kept.
// Sweep: untagged revisions (3.x style: the revision folder and its tags' index entries),
// unmarked blobs older than min_age, _layers links to swept or missing blobs, old uploads,
// and with prune_empty_repos repositories left with no tag and no revision.
GcPlan plan_gc(const storage::Model& model, const GcRequest& request);

// The blobs linked in the _layers of a repository that has an upload younger than
// uploads_older_than_s (by startedat, else its files): a push is in progress there, and the
// manifest that will reference its finished layers has not arrived yet, however long ago a
// layer finished. Sorted; gc keeps the unreferenced ones whatever their age.
std::vector<Digest> blobs_of_pushes_in_progress(const storage::Model& model, std::int64_t now_ns,
                                                std::int64_t uploads_older_than_s);

// True when `after` has a tag, revision or layer link that `before` did not: something was
// pushed while we planned, and the plan must be made again from `after`.
bool links_appeared(const storage::Model& before, const storage::Model& after);

// The blob removals of `plan` that the storage, as it is now (`model`) and once the plan's
// other removals are done, still references from some revision or tag: a plan made earlier
// must not delete them. Returns their descriptions.
std::vector<std::string> blobs_referenced_anew(const storage::Model& model, const Plan& plan);

}  // namespace regsweep::plan
