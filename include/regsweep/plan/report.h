#pragma once
// The reclaimable-space report: a value computed from the model, printed by `report` and
// `ls`. Pure: no I/O.
#include <cstdint>
#include <string>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

struct Amount {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  void add(std::uint64_t b) {
    ++count;
    bytes += b;
  }
};

struct RepositoryUsage {
  std::string name;
  std::uint64_t tags = 0;
  std::uint64_t revisions = 0;
  std::uint64_t untagged_revisions = 0;   // revisions the tagged mark does not keep
  std::uint64_t bytes_referenced = 0;     // blobs its revisions reference (recursively)
  std::uint64_t bytes_exclusive = 0;      // of those, the ones no other repository references
  std::uint64_t bytes_shared() const { return bytes_referenced - bytes_exclusive; }
};

struct StorageReport {
  Amount blobs;                   // blob folders with data
  Amount referenced_by_tags;      // blobs the tagged mark keeps
  Amount unreferenced;            // what `registry garbage-collect` (no -m) deletes now
  std::vector<Digest> unreferenced_digests;
  std::uint64_t untagged_manifests = 0;  // revisions (repository, digest) not kept by tags
  Amount untagged;                // blobs freed on top of `unreferenced` by deleting those
  Amount uploads;
  Amount stale_uploads;           // started longer ago than the upload age
  std::vector<RepositoryUsage> repositories;
  // Where the storage cannot be fully read, what `gc` keeps beyond these figures, and why.
  std::vector<std::string> notes;
};

struct ReportOptions {
  std::int64_t now_ns = 0;
  std::int64_t upload_max_age_s = 168 * 3600;  // the registry's own purge age
};

StorageReport build_report(const storage::Model& model, const ReportOptions& options);

// What the registry's garbage-collect (its mark without -m) would free once `plan` has run, on
// top of what it frees now: the blobs that only the plan's manifests reach. Online, the
// estimate `report REF...` gives; on the storage, the same figure from the whole model.
Amount freed_by(const storage::Model& model, const Plan& plan);
// The same, given the model as the plan leaves it (plan::simulate's), when the caller has it.
Amount freed_by(const storage::Model& model, const storage::Model& after);

// Per-repository usage only (what `ls` shows); build_report includes it.
std::vector<RepositoryUsage> repository_usage(const storage::Model& model);

// Size of an image: every distinct blob its manifest reaches (index children included).
std::uint64_t image_bytes(const storage::Model& model, const Digest& manifest);

// The platforms an index offers, in order, each once: its entries', and for an entry that is
// itself an index (an index of indexes), that index's own, taken by the inner entries where the
// outer entry names none. Empty for an image manifest. Cycles and manifests that cannot be
// read end the descent.
std::vector<std::string> index_platforms(const storage::Model& model, const Digest& index);

// True when an upload is older than max_age_s: by startedat, or by its files when it has none.
bool upload_is_stale(const storage::Upload& upload, std::int64_t now_ns, std::int64_t max_age_s);

}  // namespace regsweep::plan
