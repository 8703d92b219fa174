#pragma once
// Reads a registry's storage into a Model. Read only: it never writes.
#include <string>

#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage {

struct WalkOptions {
  unsigned jobs = 1;
  util::Progress* progress = &util::no_progress();
};

// Throws Error when `root` is not a directory holding docker/registry/v2. Everything else
// that is wrong becomes a Finding in the model.
Model walk_storage(FileSystem& fs, const std::string& root, const WalkOptions& options);

// Only the repository names, sorted (what shell completion needs: no blobs, no manifests).
// Empty when the root is not a registry storage.
std::vector<std::string> repository_names(FileSystem& fs, const std::string& root);
// Only the tag names of one repository, sorted.
std::vector<std::string> tag_names(FileSystem& fs, const std::string& root, const std::string& repository);

}  // namespace regsweep::storage
