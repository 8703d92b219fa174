#pragma once
// `gc --registry-bin`: what the registry's own collector (distribution 2.8's
// `garbage-collect`, run without -m once regsweep's own steps are done) will delete, and what
// its output says it listed or deleted. Pure: a model, a plan or a text in; values out.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/digest.h"

namespace regsweep::plan {

struct YoungBlob {
  Digest digest;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool in_push = false;  // old enough, but linked where a push is in progress (blobs_of_pushes_in_progress)
};

// Blobs with data that the registry's collector would delete once `plan` has run (those its
// mark, registry_gc_mark, does not reach in the simulated model) and that are younger than
// min_age_s at now_ns; youngest first. That collector has no grace window: such a blob may be
// a layer of a push whose manifest has not arrived yet.
std::vector<YoungBlob> young_blobs_registry_gc_would_delete(const storage::Model& model, const Plan& plan,
                                                             std::int64_t min_age_s, std::int64_t uploads_older_than_s,
                                                             std::int64_t now_ns);

// What `garbage-collect` printed (stdout and stderr together). The lines it looks for:
//   "N blobs marked, N blobs and N manifests eligible for deletion"  (the summary)
//   "blob eligible for deletion: sha256:<hex>"                       (dry run and real run)
//   "manifest eligible for deletion: sha256:<hex>"                   (with -m)
//   ... msg="Deleting blob: /docker/registry/v2/blobs/sha256/<xx>/<hex>" ...  (real run, log level info)
// Anything else (the marking lines, other log lines) is ignored; a digest listed twice counts once.
struct RegistryGcOutput {
  std::optional<std::uint64_t> marked;  // "N blobs marked", when the summary line was printed
  std::vector<Digest> blobs_eligible;
  std::vector<Digest> manifests_eligible;
  std::vector<Digest> blobs_deleted;
};
RegistryGcOutput parse_registry_gc_output(std::string_view text);

}  // namespace regsweep::plan
