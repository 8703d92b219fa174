#pragma once
// The model of a running registry, read over its API: the same storage::Model the walk of its
// storage makes, so that every planner and report reads it unchanged.
//
// What the API shows is what a client can pull, so the model holds:
// - repositories (the catalog, or the ones named), their tags and the digest each names;
// - revisions: the manifests the tags reach (index children included). Registry 2.8 lists no
//   untagged manifest, so none is in the model;
// - manifests (read once however many repositories and tags name them) and, as blobs, the
//   manifests and the configs and layers they declare, with their declared sizes: a blob is
//   known only from a manifest (`has_data`, no time);
// - `_layers` links: the blobs the repository's manifests declare (the registry serves them).
// No tag has a push time (`pushed_ns` 0: the API has none).
#include <string>
#include <vector>

#include "regsweep/online/registry_client.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/progress.h"

namespace regsweep::online {

struct ReadOptions {
  unsigned jobs = 16;                        // requests at once
  std::vector<std::string> repositories;     // empty: every repository of the catalog
  util::Progress* progress = nullptr;
};

storage::Model read_model(RegistryClient& client, const ReadOptions& options);

// The config's `created` of an image, or for an index the newest of its children's, read over
// the API (storage::image_created with the registry's blobs).
std::optional<std::string> read_image_created(RegistryClient& client, const storage::Model& model, std::string_view repository,
                                              const Digest& manifest);

}  // namespace regsweep::online
