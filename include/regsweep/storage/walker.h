#pragma once
// Reads a registry's storage into a Model. Read only: it never writes.
#include <string>

#include "regsweep/storage/store.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage {

struct WalkOptions {
  unsigned jobs = 1;
  util::Progress* progress = &util::no_progress();
};

// Throws Error when the store holds no docker/registry/v2. Everything else that is wrong
// becomes a Finding in the model. On a local folder the walk probes the names the layout
// says are there (one fstatat per blob, not a listing of every folder).
Model walk_storage(Store& store, const WalkOptions& options);

// True when the store was walked from a listing (a bucket) and a new listing sees every key
// as it was then (same keys, sizes, times and ETags): `model` is still the storage's. Lists
// every key once (no reads). False on a local folder: walk it again.
bool unchanged_since(Store& store, const Model& model, const WalkOptions& options);

// Only the repository names, sorted (what shell completion needs: no blobs, no manifests).
// Empty when the root is not a registry storage.
std::vector<std::string> repository_names(Store& store);
// Only the tag names of one repository, sorted.
std::vector<std::string> tag_names(Store& store, const std::string& repository);

}  // namespace regsweep::storage
