// libFuzzer target: manifest blobs (storage/manifest.h), any bytes up to the registry's limit.
// Properties:
// - parse_manifest never throws; Unparsable iff there is an error, and then nothing is
//   referenced;
// - what is referenced fits the kind: an image manifest has a config, an index has children
//   and no config or layers, schema1 declares no sizes, an unknown type references nothing;
// - re-encoding the parsed references as a canonical manifest of the same media type and
//   parsing that again gives the same references (digests, sizes, foreign flags, platforms,
//   subject): nothing is lost or invented between the JSON and the model.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "regsweep/storage/manifest.h"

using namespace regsweep;
using namespace regsweep::storage;
using nlohmann::json;

namespace {

json descriptor(const BlobRef& b) {
  json d = json::object({{"digest", b.digest.str()}, {"size", b.size}});
  if (b.foreign) d["urls"] = json::array({"https://example.invalid/layer"});
  return d;
}

json encode(const ParsedManifest& m) {
  json doc = json::object({{"mediaType", m.media_type.str()}});
  if (!m.artifact_type.empty()) doc["artifactType"] = m.artifact_type.str();
  if (m.kind == ManifestKind::Schema1) {
    json layers = json::array();
    for (const BlobRef& l : m.layers) layers.push_back(json::object({{"blobSum", l.digest.str()}}));
    doc["fsLayers"] = layers;
    return doc;
  }
  if (m.config) doc["config"] = descriptor(*m.config);
  if (!m.layers.empty()) {
    json layers = json::array();
    for (const BlobRef& l : m.layers) layers.push_back(descriptor(l));
    doc[m.kind == ManifestKind::OciArtifact ? "blobs" : "layers"] = layers;
  }
  if (is_index(m.kind)) {
    json children = json::array();
    for (const ChildRef& c : m.children) {
      json d = json::object({{"digest", c.digest.str()}, {"size", c.size}});
      if (!c.platform.empty()) {
        // "os/architecture[/variant]": everything after the first '/' as the architecture
        // gives back the same string, whatever the original parts held.
        auto slash = c.platform.find('/');
        FUZZ_CHECK(slash != std::string::npos);
        d["platform"] = json::object({{"os", c.platform.substr(0, slash)}, {"architecture", c.platform.substr(slash + 1)}});
      }
      children.push_back(d);
    }
    doc["manifests"] = children;
  }
  if (m.subject) doc["subject"] = json::object({{"digest", m.subject->str()}, {"size", 1}});
  return doc;
}

bool same_blobs(const std::vector<BlobRef>& a, const std::vector<BlobRef>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].digest != b[i].digest || a[i].size != b[i].size || a[i].foreign != b[i].foreign) return false;
  return true;
}

bool same_children(const std::vector<ChildRef>& a, const std::vector<ChildRef>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].digest != b[i].digest || a[i].size != b[i].size || a[i].platform != b[i].platform) return false;
  return true;
}

bool references_nothing(const ParsedManifest& m) {
  return !m.config && m.layers.empty() && m.children.empty() && !m.subject;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxManifestBytes) return -1;  // refused before parsing, as the walker does
  std::string_view bytes = fuzz::as_text(data, size);
  ParsedManifest m = parse_manifest(bytes);  // an exception escaping here is a crash

  FUZZ_CHECK((m.kind == ManifestKind::Unparsable) == !m.error.empty());
  switch (m.kind) {
    case ManifestKind::Unparsable:
      FUZZ_CHECK(references_nothing(m) && m.media_type.empty());
      return 0;
    case ManifestKind::Unknown:
      FUZZ_CHECK(references_nothing(m));
      break;
    case ManifestKind::OciManifest:
    case ManifestKind::DockerManifest:
      FUZZ_CHECK(m.config.has_value() && m.children.empty());
      break;
    case ManifestKind::OciIndex:
    case ManifestKind::DockerManifestList:
      FUZZ_CHECK(!m.config && m.layers.empty());
      break;
    case ManifestKind::OciArtifact:
      FUZZ_CHECK(!m.config && m.children.empty());
      break;
    case ManifestKind::Schema1:
      FUZZ_CHECK(!m.config && m.children.empty() && !m.subject);
      for (const BlobRef& l : m.layers) FUZZ_CHECK(l.size == 0 && !l.foreign);
      break;
  }
  if (m.kind != ManifestKind::Unknown) FUZZ_CHECK(!m.media_type.empty());

  std::string canonical = encode(m).dump();
  ParsedManifest again = parse_manifest(canonical);
  FUZZ_CHECK(again.error.empty());
  FUZZ_CHECK(again.kind == m.kind);
  FUZZ_CHECK(again.media_type == m.media_type);
  FUZZ_CHECK(again.artifact_type == m.artifact_type);
  FUZZ_CHECK(again.config.has_value() == m.config.has_value());
  if (m.config) FUZZ_CHECK(same_blobs({*again.config}, {*m.config}));
  FUZZ_CHECK(same_blobs(again.layers, m.layers));
  FUZZ_CHECK(same_children(again.children, m.children));
  FUZZ_CHECK(again.subject == m.subject);
  return 0;
}
