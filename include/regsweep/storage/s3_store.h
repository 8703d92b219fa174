#pragma once
// A store in an S3 bucket (AWS S3, Ceph RGW, MinIO...): the registry's s3-aws driver keeps
// its keys at <rootdirectory>/docker/registry/v2/..., the same layout as on a disk.
// HTTP through libcurl's multi interface, signed by libcurl's SigV4; XML by pugixml.
#include <memory>

#include "regsweep/storage/s3_config.h"
#include "regsweep/storage/store.h"

namespace regsweep::storage {

// -j's default on S3: requests in flight (each waits on the network, not on a core).
inline constexpr unsigned kS3DefaultConnections = 32;

// Opens the store and checks that the bucket answers (one listing of at most one key), so a
// wrong endpoint, bucket or credentials stop here with a message naming them. Throws Error.
std::unique_ptr<Store> open_s3_store(const S3Config& config, unsigned connections);

// What the S3 requests of a store cost so far (for progress and the benchmark).
struct S3Counters {
  std::uint64_t requests = 0, retries = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t lists = 0, gets = 0, heads = 0, puts = 0, copies = 0, deletes = 0;
};
// Zeroes when `store` is not an S3 store.
S3Counters s3_counters(Store& store);

}  // namespace regsweep::storage
