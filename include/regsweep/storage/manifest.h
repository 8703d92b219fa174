#pragma once
// Manifest parsing: what a manifest references, nothing else. Every format the registry
// stores: OCI image manifest and index, Docker schema2 manifest and manifest list, schema1
// (signed or not), OCI artifact manifests and `subject` referrers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "regsweep/util/digest.h"
#include "regsweep/util/text.h"

namespace regsweep::storage {

enum class ManifestKind : std::uint8_t {
  OciManifest,
  OciIndex,
  DockerManifest,
  DockerManifestList,
  Schema1,
  OciArtifact,  // application/vnd.oci.artifact.manifest.v1+json (blobs, no config)
  Unknown,      // valid JSON of a media type we do not know: kept, referencing nothing
  Unparsable,
};

std::string_view to_string(ManifestKind kind);
inline bool is_index(ManifestKind k) {
  return k == ManifestKind::OciIndex || k == ManifestKind::DockerManifestList;
}

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciArtifact = "application/vnd.oci.artifact.manifest.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

struct BlobRef {
  Digest digest;
  std::uint64_t size = 0;   // as declared (0 for schema1, which declares none)
  bool foreign = false;     // a non-distributable layer (has urls): never stored here
};

struct ChildRef {
  Digest digest;
  std::uint64_t size = 0;
  std::string platform;     // "linux/arm64/v8", empty when the index does not say
};

// The model holds one per manifest blob: the media types, which repeat from manifest to
// manifest, are interned (util::Text), and the lists are allocated to their size.
struct ParsedManifest {
  ManifestKind kind = ManifestKind::Unparsable;
  std::optional<Digest> subject;    // OCI 1.1 referrers
  util::Text media_type;
  util::Text artifact_type;
  std::optional<BlobRef> config;
  std::vector<BlobRef> layers;      // layers; artifact blobs; schema1 fsLayers
  std::vector<ChildRef> children;   // index / manifest list entries
  util::Text created_annotation;    // annotations["org.opencontainers.image.created"], when a string
  std::string error;                // why it is Unparsable
};

// The registry refuses manifests over 4 MiB; so do we (bigger is a finding).
inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

ParsedManifest parse_manifest(std::string_view bytes);

}  // namespace regsweep::storage
