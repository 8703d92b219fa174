#pragma once
// Where the registry keeps things, relative to its rootdirectory: the one place that knows
// the layout, for the walker that reads it, the plans that name registry objects and the
// executor that removes them. Keys are the same on a disk and in a bucket.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "regsweep/util/digest.h"

namespace regsweep::storage::layout {

inline constexpr std::string_view kV2 = "docker/registry/v2";
inline constexpr std::string_view kBlobs = "blobs/sha256";        // below kV2
inline constexpr std::string_view kRepositories = "repositories";  // below kV2
inline constexpr std::string_view kStateDir = ".regsweep";        // ours; the registry never reads it

inline std::string v2(std::string_view rel) { return std::string(kV2) + "/" + std::string(rel); }

inline std::string blob_dir(const Digest& d) { return v2("blobs/sha256/" + d.prefix() + "/" + d.hex()); }
inline std::string blob_data(const Digest& d) { return blob_dir(d) + "/data"; }

inline std::string repo_dir(std::string_view repo) { return v2("repositories/" + std::string(repo)); }
inline std::string revision_dir(std::string_view repo, const Digest& d) {
  return repo_dir(repo) + "/_manifests/revisions/sha256/" + d.hex();
}
inline std::string revision_link(std::string_view repo, const Digest& d) { return revision_dir(repo, d) + "/link"; }
inline std::string tag_dir(std::string_view repo, std::string_view tag) {
  return repo_dir(repo) + "/_manifests/tags/" + std::string(tag);
}
inline std::string tag_current_link(std::string_view repo, std::string_view tag) { return tag_dir(repo, tag) + "/current/link"; }
inline std::string tag_index_dir(std::string_view repo, std::string_view tag, const Digest& d) {
  return tag_dir(repo, tag) + "/index/sha256/" + d.hex();
}
inline std::string layer_dir(std::string_view repo, const Digest& d) { return repo_dir(repo) + "/_layers/sha256/" + d.hex(); }
inline std::string layer_link(std::string_view repo, const Digest& d) { return layer_dir(repo, d) + "/link"; }
inline std::string upload_dir(std::string_view repo, std::string_view id) { return repo_dir(repo) + "/_uploads/" + std::string(id); }
inline std::string tags_dir(std::string_view repo) { return repo_dir(repo) + "/_manifests/tags"; }
inline std::string repository_part(std::string_view repo, std::string_view part) { return repo_dir(repo) + "/" + std::string(part); }

// The parts of a repository's folder.
inline constexpr std::string_view kManifests = "_manifests";
inline constexpr std::string_view kLayers = "_layers";
inline constexpr std::string_view kUploads = "_uploads";

// Names inside those folders, for the walk that opens them one at a time.
inline constexpr std::string_view kRevisions = "revisions/sha256";  // below _manifests
inline constexpr std::string_view kTags = "tags";                   // below _manifests
inline constexpr std::string_view kCurrent = "current";             // below a tag
inline constexpr std::string_view kCurrentLink = "current/link";    // below a tag
inline constexpr std::string_view kTagIndex = "index/sha256";       // below a tag
inline constexpr std::string_view kLayerLinks = "_layers/sha256";   // below a repository
inline constexpr std::string_view kLinkSuffix = "/link";            // after a digest's folder
inline constexpr std::string_view kDataSuffix = "/data";            // after a blob's or an upload's folder
inline constexpr std::string_view kStartedAtSuffix = "/startedat";  // after an upload's folder

// A registry object, as a plan names it. Which fields count depends on the kind.
enum class ObjectKind : std::uint8_t {
  Tag,             // repository, name (the tag): its folder
  TagIndexEntry,   // repository, name (the tag), digest: one entry of the tag's history
  RevisionLink,    // repository, digest: the revision's link file (what the API's DELETE removes)
  Revision,        // repository, digest: the revision's folder
  LayerLink,       // repository, digest: the _layers entry's folder
  Upload,          // repository, name (the upload id)
  RepositoryPart,  // repository, name (_manifests, _layers or _uploads)
  Folder,          // repository: a folder below repositories/ (a repository, or a namespace above one)
  Blob,            // digest: the blob's folder
  Key,             // key: a file known by its key only (a link file that cannot be read, a temporary file)
};

struct Object {
  ObjectKind kind = ObjectKind::Key;
  std::string repository;
  std::string name;
  std::optional<Digest> digest;
  std::string key;
};

// The key (a file, or a folder of keys) that holds `object`. Throws Error when a field the
// kind needs is missing.
std::string key_of(const Object& object);
// The link file whose content names the object's digest (a tag's current link, a revision
// link, a _layers link); empty for other kinds.
std::string link_of(const Object& object);
// The object at `key`: the inverse of key_of (a Key object for a key the layout does not name).
Object object_at(std::string_view key);

// The repository a key is in ("team/app" for ".../repositories/team/app/_manifests/..."; the
// folder's name for a folder below repositories/ without a part); empty elsewhere.
std::string repository_of(std::string_view key);

// The digest of the object at `key`, or of the one whose folder holds it (a blob's data, a
// revision's or a layer's link); nothing elsewhere.
std::optional<Digest> digest_at(std::string_view key);

// What the link file at `key` is.
enum class LinkRole : std::uint8_t { TagCurrent, TagHistory, Revision, Layer, Other };
LinkRole link_role(std::string_view key);

}  // namespace regsweep::storage::layout
