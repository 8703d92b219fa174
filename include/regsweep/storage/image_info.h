#pragma once
// Details of an image that only `ls REPO` and retention policies need, read on demand
// (not during the walk): the `created` time in its config.
#include <optional>
#include <string>

#include "regsweep/storage/store.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/function_ref.h"

namespace regsweep::storage {

// The config's `created` (RFC 3339 text) of an image manifest, else its
// `org.opencontainers.image.created` annotation; for an index, its own annotation, else the
// newest of its children's. Empty when there is none or the config cannot be read.
std::optional<std::string> read_image_created(Store& store, const Model& model, const Digest& manifest);

// The same, with the config blobs' bytes from `read_config` (nullopt: cannot be read): the
// storage's files above, the registry's API online (online/read_model.h).
std::optional<std::string> image_created(const Model& model, const Digest& manifest,
                                         util::FunctionRef<std::optional<std::string>(const Digest& config)> read_config);

}  // namespace regsweep::storage
