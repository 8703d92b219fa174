// storage/manifest: what each manifest format references.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "regsweep/storage/manifest.h"
#include "regsweep/util/sha256.h"

namespace regsweep::storage {
namespace {

using nlohmann::json;

const Digest kConfig = util::sha256("config");
const Digest kLayer1 = util::sha256("layer 1");
const Digest kLayer2 = util::sha256("layer 2");
const Digest kChild1 = util::sha256("child 1");
const Digest kChild2 = util::sha256("child 2");
const Digest kSubject = util::sha256("subject");

json desc(std::string_view type, const Digest& d, std::uint64_t size) {
  return {{"mediaType", type}, {"digest", d.str()}, {"size", size}};
}

json oci_manifest() {
  return {{"schemaVersion", 2},
          {"mediaType", media_type::kOciManifest},
          {"config", desc("application/vnd.oci.image.config.v1+json", kConfig, 100)},
          {"layers", {desc("application/vnd.oci.image.layer.v1.tar+gzip", kLayer1, 1000),
                      desc("application/vnd.oci.image.layer.v1.tar+gzip", kLayer2, 2000)}}};
}

ParsedManifest parse(const json& doc) { return parse_manifest(doc.dump()); }

TEST(Manifest, OciManifest) {
  ParsedManifest m = parse(oci_manifest());
  EXPECT_EQ(m.kind, ManifestKind::OciManifest);
  EXPECT_EQ(m.media_type, media_type::kOciManifest);
  EXPECT_EQ(m.error, "");
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->digest, kConfig);
  EXPECT_EQ(m.config->size, 100u);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest, kLayer1);
  EXPECT_EQ(m.layers[0].size, 1000u);
  EXPECT_FALSE(m.layers[0].foreign);
  EXPECT_EQ(m.layers[1].digest, kLayer2);
  EXPECT_EQ(m.layers[1].size, 2000u);
  EXPECT_TRUE(m.children.empty());
  EXPECT_FALSE(m.subject);
}

TEST(Manifest, OciManifestWithoutMediaType) {
  json doc = oci_manifest();
  doc.erase("mediaType");
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::OciManifest);
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->digest, kConfig);
  EXPECT_EQ(m.layers.size(), 2u);
}

TEST(Manifest, OciIndexWithPlatforms) {
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kOciIndex},
           {"manifests", {desc(media_type::kOciManifest, kChild1, 500), desc(media_type::kOciManifest, kChild2, 600)}}};
  doc["manifests"][0]["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  doc["manifests"][1]["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::OciIndex);
  EXPECT_TRUE(is_index(m.kind));
  EXPECT_FALSE(m.config);
  EXPECT_TRUE(m.layers.empty());
  ASSERT_EQ(m.children.size(), 2u);
  EXPECT_EQ(m.children[0].digest, kChild1);
  EXPECT_EQ(m.children[0].size, 500u);
  EXPECT_EQ(m.children[0].platform, "linux/amd64");
  EXPECT_EQ(m.children[1].digest, kChild2);
  EXPECT_EQ(m.children[1].platform, "linux/arm64/v8");
}

TEST(Manifest, IndexWithoutMediaType) {
  json doc{{"schemaVersion", 2}, {"manifests", {desc(media_type::kOciManifest, kChild1, 500)}}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::OciIndex);
  EXPECT_EQ(m.media_type, media_type::kOciIndex);
  ASSERT_EQ(m.children.size(), 1u);
  EXPECT_EQ(m.children[0].digest, kChild1);
  EXPECT_EQ(m.children[0].platform, "");
}

TEST(Manifest, DockerV2Schema2) {
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kDockerManifest},
           {"config", desc("application/vnd.docker.container.image.v1+json", kConfig, 10)},
           {"layers", {desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kLayer1, 20)}}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::DockerManifest);
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->digest, kConfig);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].digest, kLayer1);
  EXPECT_EQ(m.layers[0].size, 20u);
}

TEST(Manifest, DockerManifestList) {
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kDockerList},
           {"manifests", {desc(media_type::kDockerManifest, kChild1, 7), desc(media_type::kDockerManifest, kChild2, 8)}}};
  doc["manifests"][0]["platform"] = {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::DockerManifestList);
  EXPECT_TRUE(is_index(m.kind));
  ASSERT_EQ(m.children.size(), 2u);
  EXPECT_EQ(m.children[0].digest, kChild1);
  EXPECT_EQ(m.children[0].platform, "linux/arm/v7");
  EXPECT_EQ(m.children[1].digest, kChild2);
  EXPECT_EQ(m.children[1].size, 8u);
  EXPECT_EQ(m.children[1].platform, "");
}

json schema1() {
  return {{"schemaVersion", 1},
          {"name", "team/app"},
          {"tag", "v1"},
          {"architecture", "amd64"},
          {"fsLayers", {{{"blobSum", kLayer2.str()}}, {{"blobSum", kLayer1.str()}}}},
          {"history", {{{"v1Compatibility", "{}"}}, {{"v1Compatibility", "{}"}}}}};
}

TEST(Manifest, Schema1Unsigned) {
  ParsedManifest m = parse(schema1());
  EXPECT_EQ(m.kind, ManifestKind::Schema1);
  EXPECT_EQ(m.media_type, media_type::kSchema1);
  EXPECT_FALSE(m.config);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest, kLayer2);
  EXPECT_EQ(m.layers[0].size, 0u);
  EXPECT_EQ(m.layers[1].digest, kLayer1);
}

TEST(Manifest, Schema1Signed) {
  json doc = schema1();
  doc["signatures"] = {{{"header", {{"alg", "ES256"}}}, {"signature", "abc"}, {"protected", "def"}}};
  ParsedManifest m = parse_manifest(doc.dump(3));  // signed manifests are stored pretty-printed
  EXPECT_EQ(m.kind, ManifestKind::Schema1);
  EXPECT_EQ(m.media_type, media_type::kSchema1Signed);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest, kLayer2);
  EXPECT_EQ(m.layers[1].digest, kLayer1);
}

TEST(Manifest, Schema1BadBlobSum) {
  json doc = schema1();
  doc["fsLayers"][1]["blobSum"] = "sha256:nothex";
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::Unparsable);
  EXPECT_NE(m.error, "");
  EXPECT_TRUE(m.layers.empty());
}

TEST(Manifest, OciArtifactManifest) {
  json doc{{"mediaType", media_type::kOciArtifact},
           {"artifactType", "application/vnd.example.sbom"},
           {"blobs", {desc("application/json", kLayer1, 11), desc("application/json", kLayer2, 12)}},
           {"subject", desc(media_type::kOciManifest, kSubject, 13)}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::OciArtifact);
  EXPECT_EQ(m.artifact_type, "application/vnd.example.sbom");
  EXPECT_FALSE(m.config);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest, kLayer1);
  EXPECT_EQ(m.layers[1].digest, kLayer2);
  ASSERT_TRUE(m.subject);
  EXPECT_EQ(*m.subject, kSubject);
}

TEST(Manifest, OciImageManifestWithArtifactTypeAndSubject) {
  json doc = oci_manifest();
  doc["artifactType"] = "application/vnd.dev.cosign.simplesigning.v1+json";
  doc["subject"] = desc(media_type::kOciManifest, kSubject, 999);
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::OciManifest);
  EXPECT_EQ(m.artifact_type, "application/vnd.dev.cosign.simplesigning.v1+json");
  ASSERT_TRUE(m.subject);
  EXPECT_EQ(*m.subject, kSubject);
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->digest, kConfig);
  EXPECT_EQ(m.layers.size(), 2u);
}

TEST(Manifest, IndexWithSubject) {
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kOciIndex},
           {"manifests", {desc(media_type::kOciManifest, kChild1, 1)}},
           {"subject", desc(media_type::kOciManifest, kSubject, 2)}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::OciIndex);
  ASSERT_TRUE(m.subject);
  EXPECT_EQ(*m.subject, kSubject);
}

TEST(Manifest, UnknownMediaType) {
  json doc{{"schemaVersion", 2}, {"mediaType", "application/vnd.example.thing+json"}, {"layers", "whatever"}};
  ParsedManifest m = parse(doc);
  EXPECT_EQ(m.kind, ManifestKind::Unknown);
  EXPECT_EQ(m.media_type, "application/vnd.example.thing+json");
  EXPECT_FALSE(m.config);
  EXPECT_TRUE(m.layers.empty());
  EXPECT_TRUE(m.children.empty());
  // An object with nothing recognisable is Unknown too, not Unparsable.
  EXPECT_EQ(parse(json{{"hello", "world"}}).kind, ManifestKind::Unknown);
}

TEST(Manifest, ForeignLayer) {
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kDockerManifest},
           {"config", desc("application/vnd.docker.container.image.v1+json", kConfig, 10)},
           {"layers", {desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", kLayer1, 20),
                       desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kLayer2, 30)}}};
  ParsedManifest m = parse(doc);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_TRUE(m.layers[0].foreign);
  EXPECT_FALSE(m.layers[1].foreign);

  // An OCI layer is foreign by its urls alone.
  json oci = oci_manifest();
  oci["layers"][1]["urls"] = {"https://example.com/layer.tar.gz"};
  ParsedManifest o = parse(oci);
  ASSERT_EQ(o.layers.size(), 2u);
  EXPECT_FALSE(o.layers[0].foreign);
  EXPECT_TRUE(o.layers[1].foreign);
  // Empty urls do not make it foreign.
  oci["layers"][1]["urls"] = json::array();
  EXPECT_FALSE(parse(oci).layers[1].foreign);
}

void expect_unparsable(std::string_view bytes, const char* what) {
  ParsedManifest m = parse_manifest(bytes);
  EXPECT_EQ(m.kind, ManifestKind::Unparsable) << what;
  EXPECT_NE(m.error, "") << what;
  EXPECT_FALSE(m.config) << what;
  EXPECT_TRUE(m.layers.empty()) << what;
  EXPECT_TRUE(m.children.empty()) << what;
  EXPECT_FALSE(m.subject) << what;
}

TEST(Manifest, NotJson) {
  expect_unparsable("", "empty");
  expect_unparsable("not json", "text");
  expect_unparsable(oci_manifest().dump().substr(0, 50), "truncated");
  expect_unparsable(std::string("\x1f\x8b\x08\x00", 4), "gzip bytes");
}

TEST(Manifest, NotAnObject) {
  expect_unparsable("[]", "array");
  expect_unparsable("[{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\"}]", "array of manifest");
  expect_unparsable("42", "number");
  expect_unparsable("\"manifest\"", "string");
  expect_unparsable("null", "null");
}

TEST(Manifest, WrongTypes) {
  json size_string = oci_manifest();
  size_string["layers"][0]["size"] = "1000";
  expect_unparsable(size_string.dump(), "size as string");

  json size_negative = oci_manifest();
  size_negative["layers"][0]["size"] = -1;
  expect_unparsable(size_negative.dump(), "negative size");

  json size_float = oci_manifest();
  size_float["config"]["size"] = 1.5;
  expect_unparsable(size_float.dump(), "size as float");

  json sha512 = oci_manifest();
  sha512["layers"][1]["digest"] = "sha512:" + std::string(128, 'a');
  expect_unparsable(sha512.dump(), "digest not sha256");

  json no_digest = oci_manifest();
  no_digest["config"].erase("digest");
  expect_unparsable(no_digest.dump(), "descriptor without digest");

  json layers_object = oci_manifest();
  layers_object["layers"] = {{"digest", kLayer1.str()}};
  expect_unparsable(layers_object.dump(), "layers not a list");

  json layers_of_strings = oci_manifest();
  layers_of_strings["layers"] = {kLayer1.str()};
  expect_unparsable(layers_of_strings.dump(), "layers of strings");

  json no_config = oci_manifest();
  no_config.erase("config");
  expect_unparsable(no_config.dump(), "OCI manifest without config");

  json config_string = oci_manifest();
  config_string["config"] = kConfig.str();
  expect_unparsable(config_string.dump(), "config not an object");

  json media_type_number = oci_manifest();
  media_type_number["mediaType"] = 2;
  expect_unparsable(media_type_number.dump(), "mediaType not a string");

  json index_no_manifests{{"schemaVersion", 2}, {"mediaType", media_type::kOciIndex}};
  expect_unparsable(index_no_manifests.dump(), "index without manifests");

  json subject_string = oci_manifest();
  subject_string["subject"] = kSubject.str();
  expect_unparsable(subject_string.dump(), "subject not an object");
}

TEST(Manifest, SizeLimitIsTheRegistrys) { EXPECT_EQ(kMaxManifestBytes, 4u * 1024 * 1024); }

TEST(Manifest, KindNames) {
  EXPECT_EQ(to_string(ManifestKind::OciIndex), "oci-index");
  EXPECT_EQ(to_string(ManifestKind::Unparsable), "unparsable");
}

}  // namespace
}  // namespace regsweep::storage
