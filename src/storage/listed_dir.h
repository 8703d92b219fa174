#pragma once
// The walk on a store without folders (S3): every key below docker/registry/v2 is listed
// first, in parallel (one flat listing per blobs/sha256/<xx>/ prefix and per top-level
// repository folder), and the listing is then seen as a tree of folders. The walker probes it
// as it probes a disk, with no request per probe; only reads (links, manifests) go to the store.
#include <memory>

#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/store.h"
#include "regsweep/util/digest.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage::detail {

// A read-only Dir at the store's root whose folders are those the keys imply (and the
// zero-byte "folder/" markers some tools write). Its paths are the store's locations.
// `with_blobs` false: only repositories/ is listed (what completion needs).
// `fingerprint`: receives the hash of everything listed (fingerprint_store's).
std::unique_ptr<Dir> list_store(Store& store, unsigned jobs, util::Progress& progress, bool with_blobs = true,
                                Digest* fingerprint = nullptr);

// Lists every key as list_store does, keeping nothing but the hash of what it saw (each key,
// size, time and ETag): equal to a model's listing_fingerprint when nothing changed since.
Digest fingerprint_store(Store& store, unsigned jobs, util::Progress& progress);

}  // namespace regsweep::storage::detail
