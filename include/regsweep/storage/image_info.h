#pragma once
// Details of an image that only `ls REPO` and retention policies need, read on demand
// (not during the walk): the `created` time in its config.
#include <optional>
#include <string>

#include "regsweep/storage/store.h"
#include "regsweep/storage/model.h"

namespace regsweep::storage {

// The config's `created` (RFC 3339 text) of an image manifest; for an index, the newest of
// its children's. Empty when there is none or the config cannot be read.
std::optional<std::string> read_image_created(Store& store, const Model& model, const Digest& manifest);

}  // namespace regsweep::storage
