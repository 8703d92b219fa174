#pragma once
// `regsweep why`: why a digest is kept, and what deleting a tag frees. Pure functions of the
// model; no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "regsweep/plan/report.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

// One step of a path from a tag to a digest: what the digest is to the step before it.
enum class KeepRole : std::uint8_t { Manifest, Child, Referrer, Config, Layer };
const char* to_string(KeepRole role);

struct KeepStep {
  KeepRole role;
  Digest digest;
};

// repository:tag, then its manifest, then (index children, referrers...) down to the digest.
struct KeepPath {
  std::string repository, tag;
  std::vector<KeepStep> steps;
};

struct DigestWhy {
  Digest digest;
  bool blob = false;        // the storage has its blob (with data)
  bool manifest = false;    // it is a manifest the model read
  std::uint64_t size = 0;   // the blob's size
  std::size_t path_count = 0;        // every path from a tag (a common base layer has many)
  std::vector<KeepPath> paths;       // the first `max_paths` of them, in repository and tag order
  // Revisions (repository, manifest) no tag reaches that reference it: the registry's
  // garbage-collect without -m keeps it through them; with -m it goes.
  std::vector<std::pair<std::string, Digest>> untagged_revisions;
  bool referenced_by_gc = false;     // the registry's mark (without -m) keeps it
};

// Throws Error (naming the digest) when the model has neither a blob nor a reference to it.
DigestWhy why_digest(const storage::Model& model, const Digest& digest, std::size_t max_paths = 50);

struct SharedBlob {
  Digest digest;
  std::uint64_t size = 0;
  std::vector<std::string> tags;  // the other tags (repository:tag) that reach it
};

struct TagWhy {
  std::string repository, tag;
  Digest manifest;
  std::vector<std::string> same_digest_tags;  // tags deleted with it (a DELETE by digest takes them all)
  Amount closure;                    // every blob the image reaches (manifest, config, layers, children)
  Amount exclusive;                  // of those, what no other tag reaches
  std::vector<SharedBlob> shared;    // the others, with the tags that reach them
  Amount freed;                      // what the registry's garbage-collect frees once it is deleted (as rm would)
  Amount freed_with_m;               // what `gc -m` frees on top (untagged manifests that still hold blobs)
};

// Throws Error for an unknown repository or tag (as rm does).
TagWhy why_tag(const storage::Model& model, const std::string& repository, const std::string& tag);

}  // namespace regsweep::plan
