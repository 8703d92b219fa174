#pragma once
// The walk on a store without folders (S3): the keys below docker/registry/v2 are listed flat,
// one listing per blobs/sha256/<xx>/ prefix and per top-level repository folder, and seen as a
// tree of folders. The walker probes it as it probes a disk, with no request per probe; only
// reads (links, manifests) go to the store. A folder is listed when the walk first enters it
// and its keys are dropped when no Dir in it is open any more (the walker's workers take a
// folder each), so that the listing never sits whole beside the model.
#include <memory>
#include <optional>

#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/store.h"
#include "regsweep/util/digest.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage::detail {

// A read-only Dir at the store's root whose folders are those the keys imply (and the
// zero-byte "folder/" markers some tools write). Its paths are the store's locations.
// `with_blobs` false: only repositories/ is listed (what completion needs).
std::unique_ptr<Dir> list_store(Store& store, unsigned jobs, util::Progress& progress, bool with_blobs = true);

// The hash of everything a list_store root listed (fingerprint_store's), each folder as first
// listed; folders not walked into are listed now. None when a folder listed twice during
// the walk had changed (nor for another Dir).
std::optional<Digest> listing_fingerprint(Dir& root);

// Lists every key as list_store does, keeping nothing but the hash of what it saw (each key,
// size, time and ETag): equal to a model's listing_fingerprint when nothing changed since.
Digest fingerprint_store(Store& store, unsigned jobs, util::Progress& progress);

}  // namespace regsweep::storage::detail
