#include "regsweep/storage/manifest.h"

#include <nlohmann/json.hpp>

namespace regsweep::storage {

using nlohmann::json;

std::string_view to_string(ManifestKind kind) {
  switch (kind) {
    case ManifestKind::OciManifest: return "oci-manifest";
    case ManifestKind::OciIndex: return "oci-index";
    case ManifestKind::DockerManifest: return "docker-manifest";
    case ManifestKind::DockerManifestList: return "docker-manifest-list";
    case ManifestKind::Schema1: return "docker-schema1";
    case ManifestKind::OciArtifact: return "oci-artifact";
    case ManifestKind::Unknown: return "unknown";
    case ManifestKind::Unparsable: return "unparsable";
  }
  return "unknown";
}

namespace {

struct ParseFailure {
  std::string why;
};

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// The string in the document (no copy: a parse makes one per descriptor field), or "".
std::string_view string_member(const json& obj, const char* key) {
  const json* v = member(obj, key);
  if (!v) return {};
  if (!v->is_string()) throw ParseFailure{std::string("\"") + key + "\" is not a string"};
  return v->get_ref<const std::string&>();
}

Digest digest_member(const json& obj, const char* key) {
  std::string_view text = string_member(obj, key);
  auto d = Digest::parse(text);
  if (!d) throw ParseFailure{std::string("\"") + key + "\" is not a sha256 digest: \"" + std::string(text.substr(0, 80)) + "\""};
  return *d;
}

std::uint64_t size_member(const json& obj) {
  const json* v = member(obj, "size");
  if (!v) return 0;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0))
    throw ParseFailure{"\"size\" is not a non-negative integer"};
  return v->get<std::uint64_t>();
}

const json& object_array(const json& obj, const char* key, bool required) {
  static const json kEmpty = json::array();
  const json* v = member(obj, key);
  if (!v) {
    if (required) throw ParseFailure{std::string("no \"") + key + "\" list"};
    return kEmpty;
  }
  if (!v->is_array()) throw ParseFailure{std::string("\"") + key + "\" is not a list"};
  for (const json& e : *v)
    if (!e.is_object()) throw ParseFailure{std::string("an entry of \"") + key + "\" is not an object"};
  return *v;
}

BlobRef descriptor(const json& d) {
  if (!d.is_object()) throw ParseFailure{"a descriptor is not an object"};
  BlobRef r{digest_member(d, "digest"), size_member(d), false};
  if (const json* urls = member(d, "urls"); urls && urls->is_array() && !urls->empty()) r.foreign = true;
  std::string_view mt = string_member(d, "mediaType");
  if (mt.find("foreign") != std::string_view::npos || mt.find("nondistributable") != std::string_view::npos) r.foreign = true;
  return r;
}

void parse_subject(const json& doc, ParsedManifest& m) {
  if (const json* s = member(doc, "subject")) m.subject = descriptor(*s).digest;
}

void parse_image(const json& doc, ParsedManifest& m) {
  const json* config = member(doc, "config");
  if (!config) throw ParseFailure{"no \"config\""};
  m.config = descriptor(*config);
  const json& layers = object_array(doc, "layers", false);
  m.layers.reserve(layers.size());
  for (const json& l : layers) m.layers.push_back(descriptor(l));
  parse_subject(doc, m);
}

void parse_index(const json& doc, ParsedManifest& m) {
  const json& children = object_array(doc, "manifests", true);
  m.children.reserve(children.size());
  for (const json& c : children) {
    BlobRef d = descriptor(c);
    ChildRef child{d.digest, d.size, {}};
    if (const json* p = member(c, "platform"); p && p->is_object()) {
      std::string_view os = string_member(*p, "os"), arch = string_member(*p, "architecture"),
                       variant = string_member(*p, "variant");
      if (!os.empty() || !arch.empty()) {
        child.platform.reserve(os.size() + arch.size() + variant.size() + 2);
        child.platform.append(os).append("/").append(arch);
        if (!variant.empty()) child.platform.append("/").append(variant);
      }
    }
    m.children.push_back(std::move(child));
  }
  parse_subject(doc, m);
}

void parse_artifact(const json& doc, ParsedManifest& m) {
  const json& blobs = object_array(doc, "blobs", false);
  m.layers.reserve(blobs.size());
  for (const json& b : blobs) m.layers.push_back(descriptor(b));
  parse_subject(doc, m);
}

void parse_schema1(const json& doc, ParsedManifest& m) {
  const json& layers = object_array(doc, "fsLayers", true);
  m.layers.reserve(layers.size());
  for (const json& l : layers) m.layers.push_back(BlobRef{digest_member(l, "blobSum"), 0, false});
}

}  // namespace

ParsedManifest parse_manifest(std::string_view bytes) {
  ParsedManifest m;
  json doc = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    m.error = "not JSON";
    return m;
  }
  if (!doc.is_object()) {
    m.error = "not a JSON object";
    return m;
  }
  try {
    m.media_type = string_member(doc, "mediaType");
    m.artifact_type = string_member(doc, "artifactType");
    // Only age rules online read it (the API has no push time); anything but a string is ignored.
    if (const json* a = member(doc, "annotations"); a && a->is_object())
      if (const json* c = member(*a, "org.opencontainers.image.created"); c && c->is_string())
        m.created_annotation = c->get_ref<const std::string&>();
    std::int64_t schema_version = 0;
    if (const json* v = member(doc, "schemaVersion"); v && v->is_number_integer()) schema_version = v->get<std::int64_t>();
    const std::string_view mt = m.media_type;
    if (mt == media_type::kOciManifest) {
      m.kind = ManifestKind::OciManifest;
      parse_image(doc, m);
    } else if (mt == media_type::kDockerManifest) {
      m.kind = ManifestKind::DockerManifest;
      parse_image(doc, m);
    } else if (mt == media_type::kOciIndex) {
      m.kind = ManifestKind::OciIndex;
      parse_index(doc, m);
    } else if (mt == media_type::kDockerList) {
      m.kind = ManifestKind::DockerManifestList;
      parse_index(doc, m);
    } else if (mt == media_type::kOciArtifact) {
      m.kind = ManifestKind::OciArtifact;
      parse_artifact(doc, m);
    } else if (mt == media_type::kSchema1 || mt == media_type::kSchema1Signed || (mt.empty() && schema_version == 1)) {
      m.kind = ManifestKind::Schema1;
      parse_schema1(doc, m);
      if (m.media_type.empty()) m.media_type = member(doc, "signatures") ? media_type::kSchema1Signed : media_type::kSchema1;
    } else if (mt.empty() && schema_version == 2 && member(doc, "manifests")) {
      // OCI allows an index without mediaType; the registry sniffs it the same way.
      m.kind = ManifestKind::OciIndex;
      m.media_type = media_type::kOciIndex;
      parse_index(doc, m);
    } else if (mt.empty() && schema_version == 2 && member(doc, "config")) {
      m.kind = ManifestKind::OciManifest;
      m.media_type = media_type::kOciManifest;
      parse_image(doc, m);
    } else {
      m.kind = ManifestKind::Unknown;
    }
  } catch (const ParseFailure& f) {
    m = ParsedManifest{};
    m.error = f.why;
  } catch (const json::exception& e) {
    m = ParsedManifest{};
    m.error = e.what();
  }
  return m;
}

}  // namespace regsweep::storage
