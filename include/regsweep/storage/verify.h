#pragma once
// `fsck --verify`: recompute the SHA-256 of every blob's data and compare it with the digest
// its path names. Streamed with one large buffer per worker, in parallel, biggest blobs
// first so that the workers finish together; the aim is the disk's sequential read rate.
#include <cstdint>
#include <string>
#include <vector>

#include "regsweep/storage/store.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage {

struct CorruptBlob {
  Digest digest;  // what its path says
  Digest actual;  // what its content hashes to
};

struct UnreadableBlob {
  Digest digest;
  std::string path;  // for people
  std::string key;
  std::string why;
};

struct VerifyResult {
  std::vector<CorruptBlob> corrupt;        // sorted by digest
  std::vector<UnreadableBlob> unreadable;  // sorted by digest
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  double bytes_per_second() const { return seconds > 0 ? static_cast<double>(bytes) / seconds : 0; }
};

VerifyResult verify_blobs(Store& store, const Model& model, unsigned jobs, util::Progress& progress);

}  // namespace regsweep::storage
