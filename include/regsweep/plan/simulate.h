#pragma once
// What the storage will look like once a plan has run, computed on the model (pure).
#include <cstdint>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

// The model as it will be once `plan` has run (tags, revisions, links, blobs removed).
storage::Model simulate(const storage::Model& model, const Plan& plan);

// Bytes the registry's GC would free: blobs with data that its mark does not reach.
std::uint64_t unreferenced_bytes(const storage::Model& model);

}  // namespace regsweep::plan
