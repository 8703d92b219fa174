#pragma once
// Where the registry keeps things, relative to its rootdirectory: the one place that knows
// the layout, for the walker that reads it, the plans that name registry objects and the
// executor that removes them. Keys are the same on a disk and in a bucket.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "regsweep/util/digest.h"

namespace regsweep::storage::layout {

inline constexpr std::string_view kV2 = "docker/registry/v2";
inline constexpr std::string_view kBlobs = "blobs/sha256";        // below kV2
inline constexpr std::string_view kBlobsFolder = "blobs";         // below kV2
inline constexpr std::string_view kAlgorithm = "sha256";          // below blobs/, the only one the registry writes
inline constexpr std::string_view kRepositories = "repositories";  // below kV2
inline constexpr std::string_view kStateDir = ".regsweep";        // ours; the registry never reads it

// Keys are made with one allocation each: plans make one per action, several times.
namespace detail {
inline std::string join(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (std::string_view p : parts) out += p;
  return out;
}
}  // namespace detail

inline std::string v2(std::string_view rel) { return detail::join({kV2, "/", rel}); }

inline std::string blob_dir(const Digest& d) {
  const std::string hex = d.hex();
  return detail::join({kV2, "/blobs/sha256/", std::string_view(hex).substr(0, 2), "/", hex});
}
inline std::string blob_data(const Digest& d) {
  const std::string hex = d.hex();
  return detail::join({kV2, "/blobs/sha256/", std::string_view(hex).substr(0, 2), "/", hex, "/data"});
}

inline std::string repo_dir(std::string_view repo) { return detail::join({kV2, "/repositories/", repo}); }
inline std::string revision_dir(std::string_view repo, const Digest& d) {
  return detail::join({kV2, "/repositories/", repo, "/_manifests/revisions/sha256/", d.hex()});
}
inline std::string revision_link(std::string_view repo, const Digest& d) {
  return detail::join({kV2, "/repositories/", repo, "/_manifests/revisions/sha256/", d.hex(), "/link"});
}
inline std::string tag_dir(std::string_view repo, std::string_view tag) {
  return detail::join({kV2, "/repositories/", repo, "/_manifests/tags/", tag});
}
inline std::string tag_current_link(std::string_view repo, std::string_view tag) {
  return detail::join({kV2, "/repositories/", repo, "/_manifests/tags/", tag, "/current/link"});
}
inline std::string tag_index_dir(std::string_view repo, std::string_view tag, const Digest& d) {
  return detail::join({kV2, "/repositories/", repo, "/_manifests/tags/", tag, "/index/sha256/", d.hex()});
}
inline std::string layer_dir(std::string_view repo, const Digest& d) {
  return detail::join({kV2, "/repositories/", repo, "/_layers/sha256/", d.hex()});
}
inline std::string layer_link(std::string_view repo, const Digest& d) {
  return detail::join({kV2, "/repositories/", repo, "/_layers/sha256/", d.hex(), "/link"});
}
inline std::string upload_dir(std::string_view repo, std::string_view id) {
  return detail::join({kV2, "/repositories/", repo, "/_uploads/", id});
}
inline std::string tags_dir(std::string_view repo) { return detail::join({kV2, "/repositories/", repo, "/_manifests/tags"}); }
inline std::string repository_part(std::string_view repo, std::string_view part) {
  return detail::join({kV2, "/repositories/", repo, "/", part});
}

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

// Whether `kind` is held in one key (a file) rather than a folder of keys.
inline bool is_single_key(ObjectKind kind) { return kind == ObjectKind::RevisionLink || kind == ObjectKind::Key; }

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
