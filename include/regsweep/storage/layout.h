#pragma once
// Where the registry keeps things, relative to its rootdirectory. One place that knows the
// layout, for the walker that reads it and the executor that removes from it.
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

}  // namespace regsweep::storage::layout
