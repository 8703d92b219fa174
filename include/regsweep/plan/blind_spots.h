#pragma once
// Blind spots: parts of the storage the walk could not read or would not follow
// (storage::is_blind_spot). What is behind one may reference any blob or manifest, so code
// that judges what is unreferenced refuses while one exists, naming each and why.
#include <string_view>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

// For sweeps (gc, gc -m, prune --gc / --untagged, apply of a plan that removes blobs, the
// menu's gc, fsck --repair): throws SafetyRefusal naming every blind spot of the model.
// `command` names what is refused.
void refuse_sweep_with_blind_spots(const storage::Model& model, std::string_view command);

// For rm and prune, which need only the repositories they change: throws SafetyRefusal when a
// blind spot lies inside a repository one of the plan's actions names. Returns how many blind
// spots lie elsewhere (which the plan does not depend on: the caller says so).
std::size_t refuse_blind_spots_in_touched_repositories(const storage::Model& model, const Plan& plan, std::string_view command);

}  // namespace regsweep::plan
