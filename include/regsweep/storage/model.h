#pragma once
// The immutable model of one registry's storage, built by the walker (storage/walker.h).
// Plan code reads it; nothing changes it after it is built.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "regsweep/storage/finding.h"
#include "regsweep/storage/manifest.h"
#include "regsweep/util/digest.h"

namespace regsweep::storage {

// The model holds one record per blob and per link: they are kept small (48, 33 and 32
// bytes), and hold only what some command reads.

// blobs/sha256/<2>/<hex>/data
struct BlobRecord {
  Digest digest;
  std::uint64_t size : 63 = 0;  // a file's size (below 2^63: off_t, S3's 5 TiB)
  bool has_data : 1 = false;    // false: the folder exists without a usable data file
  std::int64_t mtime_ns = 0;
};

// _manifests/revisions/sha256/<hex>/link
struct RevisionLink {
  Digest digest;            // the link's content (which is what the registry reads)
  bool mismatched = false;  // the content names another digest than the folder it is in
};

// _layers/sha256/<hex>/link
struct LayerLink {
  Digest digest;
};

// _manifests/tags/<name>/
struct TagLink {
  std::string name;
  std::optional<Digest> current;      // empty when current/link is missing or unreadable
  std::int64_t pushed_ns = 0;         // mtime of current/link
  std::vector<Digest> history;        // index/sha256/<hex>/ entries, sorted
};

// _uploads/<id>/
struct Upload {
  std::string id;
  std::optional<std::int64_t> started_at_ns;  // from the startedat file
  std::uint64_t bytes = 0;                     // size of its data file
  std::int64_t newest_mtime_ns = 0;            // newest file in it
};

struct Repository {
  std::string name;                     // "team/app/sub"
  std::vector<TagLink> tags;            // sorted by name
  std::vector<RevisionLink> revisions;  // sorted by digest
  // Revision folders whose link exists but cannot be read: by their folder's name, sorted.
  // Not revisions (the registry cannot serve them), but gc keeps what they reference: a
  // rewritten link makes them whole again.
  std::vector<Digest> unreadable_revisions;
  std::vector<LayerLink> layers;        // sorted by digest
  std::vector<Upload> uploads;          // sorted by id
  bool has_manifests_dir = false;       // which of _manifests, _layers, _uploads exist
  bool has_layers_dir = false;
  bool has_uploads_dir = false;
  // Some tag could not be read (_manifests/tags not a folder, a tag that is a symlink or
  // cannot be opened, a current/link that exists but is not a link): what it names is
  // unknown, so no revision of this repository may be called untagged.
  bool tags_incomplete = false;

  const TagLink* find_tag(std::string_view tag) const;
  bool has_revision(const Digest& d) const;
};

// A manifest blob, read and parsed once however many repositories link it.
struct ManifestRecord {
  Digest digest;
  std::uint64_t size = 0;
  ParsedManifest parsed;
  bool readable = false;  // the blob's data was read (false: missing, too large, unreadable)
};

class Model {
 public:
  std::string root;                       // the rootdirectory (holds docker/registry/v2)
  std::vector<Repository> repositories;   // sorted by name
  std::vector<BlobRecord> blobs;          // sorted by digest
  std::vector<ManifestRecord> manifests;  // sorted by digest
  std::vector<Finding> findings;          // sorted by path
  // Where the walk listed every key first (a bucket): the hash of that listing (each key,
  // size, time and ETag). A later listing with the same hash saw the same storage.
  std::optional<Digest> listing_fingerprint;

  const Repository* find_repository(std::string_view name) const;
  const BlobRecord* find_blob(const Digest& d) const;
  // Index into `blobs`, or -1.
  std::int64_t blob_index(const Digest& d) const;
  const ManifestRecord* find_manifest(const Digest& d) const;
  // The findings behind which the walk saw nothing (storage::is_blind_spot): unreadable
  // folders and files, symbolic links not followed.
  std::vector<const Finding*> blind_spots() const;
  // True when the blob exists with its data.
  bool blob_present(const Digest& d) const {
    const BlobRecord* b = find_blob(d);
    return b && b->has_data;
  }
};

}  // namespace regsweep::storage
