#pragma once
// Pieces of the walk, shared by walker.cc, walk_blobs.cc and walk_repositories.cc.
#include <string>
#include <vector>

#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage::detail {

// blobs/sha256/<2>/<hex>/: one fstatat of "<hex>/data" per blob, parallel over prefixes
// on one worker per sink.
std::vector<BlobRecord> walk_blobs(Dir& v2, std::vector<FindingSink>& sinks, util::Progress& progress);

// The repository names below repositories/ (nested names found by descending into every
// folder that is not a reserved "_" folder).
std::vector<std::string> discover_repositories(Dir& repositories, FindingSink& sink);

// Tags, revisions, layer links and uploads of one repository.
Repository walk_repository(Dir& repositories, const std::string& name, FindingSink& sink);

}  // namespace regsweep::storage::detail
