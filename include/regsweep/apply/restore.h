#pragma once
// `restore RUN`: the plan that moves everything a run removed back, in the order that keeps
// the tree consistent at every moment (folders, then blobs, then the links that need them,
// revisions before the tags that point at them: the reverse of the removal order). It is
// executed by the one executor, so a restore is locked, journaled, audited and resumable
// like any run. Reads regsweep's own state; writes nothing.
#include <string>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/apply/state_store.h"
#include "regsweep/storage/store.h"

namespace regsweep::apply {

struct RestorePlan {
  plan::Plan plan;
  std::string status;                   // of the run being restored
  std::vector<std::string> conflicts;   // paths re-created since the run (a tag pushed again)
  std::vector<std::string> kept_newer;  // --keep-newer: those conflicts, left in the trash
  std::vector<std::string> broken;      // links whose blob is gone: "path: why"
  std::vector<std::string> purged;      // blob folders the run deleted for good
  std::uint64_t purged_bytes = 0;
};

// Throws Error for an unknown run, SafetyRefusal for one that cannot be restored (still
// running, being emptied, already restored).
RestorePlan plan_restore(storage::Store& store, StateStore& logs, const std::string& run, bool keep_newer);

}  // namespace regsweep::apply
