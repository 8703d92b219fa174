#pragma once
// `fsck`: every invariant the model knows, checked; what each problem means for users
// (above all, which tags can no longer be pulled completely, and which platforms of an
// index); and the repair plan that cannot lose an intact image. Pure: the caller walks the
// storage (and, for --verify, hashes the blobs) and passes what it found.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "regsweep/plan/plan.h"
#include "regsweep/storage/finding.h"
#include "regsweep/storage/model.h"
#include "regsweep/storage/verify.h"

namespace regsweep::plan {

struct FsckOptions {
  std::vector<std::string> repositories;        // empty: all; else only these repositories
  std::int64_t now_ns = 0;
  std::int64_t upload_max_age_ns = 168LL * 3600 * 1'000'000'000;  // uploads and *.tmp older than this may go
  const storage::VerifyResult* verified = nullptr;  // --verify: blobs hashed
  // mtime of each *.tmp file the walker reported (by key), read by the caller.
  std::map<std::string, std::int64_t> temp_file_mtimes;
};

struct Problem {
  storage::FindingKind kind;
  storage::Severity severity;
  std::string path;                 // for people (a path, a URL)
  std::string key;                  // below the storage's root; empty for the root itself
  std::string repository;           // the repository the key is in, if any
  std::string message;
  std::vector<std::string> breaks;  // "team/app:v1", "team/app:multi (linux/arm64)"
  std::string repair;               // what --repair does about it; empty: left as it is
};

struct TagHealth {
  std::string repository;
  std::string tag;
  std::optional<Digest> digest;
  bool intact = true;                          // every manifest and blob of it can be pulled
  std::vector<std::string> broken_platforms;   // of an index: the children that cannot
  std::vector<std::string> reasons;            // one line per problem that breaks it
};

struct FsckReport {
  std::vector<Problem> problems;  // sorted by path, then kind
  std::vector<TagHealth> tags;    // every tag checked, sorted by repository and tag
  std::size_t repositories = 0;   // checked
  std::size_t blobs = 0;          // in the storage
  Plan repair;                    // what --repair does

  std::size_t broken_tags() const;
  // No problem of warning or error severity (informational ones do not count).
  bool clean() const;
};

// Throws Error for a repository in options.repositories that is not in the storage.
FsckReport check_storage(const storage::Model& model, const FsckOptions& options);

}  // namespace regsweep::plan
