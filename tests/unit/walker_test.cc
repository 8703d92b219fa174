// storage/walker: a registry tree in a FakeFileSystem read into a Model, and every kind of
// damage turned into its finding.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_store.h"
#include "model_dump.h"
#include "regsweep/error.h"
#include "regsweep/storage/real_filesystem.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/names.h"
#include "regsweep/util/sha256.h"

namespace regsweep::test {
namespace {

using storage::FileType;
using storage::FindingKind;
using storage::ManifestKind;
using storage::Model;

using Lines = std::multiset<std::string>;

// Everything in a model but its findings, as text: two models are equal when their dumps
// (and their findings) are.

// The findings, whole and in the model's order.
std::vector<std::string> findings_in_order(const Model& m) {
  std::vector<std::string> out;
  for (const auto& f : m.findings)
    out.push_back(std::string(storage::to_string(f.kind)) + ' ' + std::string(storage::to_string(f.severity)) + ' ' +
                  f.path + ' ' + f.message);
  return out;
}

std::multiset<std::string> findings_any_order(const Model& m) {
  std::vector<std::string> v = findings_in_order(m);
  return {v.begin(), v.end()};
}

std::vector<std::string> repo_names(const Model& m) {
  std::vector<std::string> out;
  for (const auto& r : m.repositories) out.push_back(r.name);
  return out;
}

class WalkerTest : public ::testing::Test {
 protected:
  // Full path of a layout path.
  std::string at(const std::string& rel) const { return s.at(rel); }

  FakeStore s;
};

// --- the root -------------------------------------------------------------------------------

TEST_F(WalkerTest, RootWithoutV2Throws) {
  s.fs.add_dir("/empty/docker/registry");  // v2/ missing
  try {
    walk_on(s.fs, "/empty", {});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), "/empty");
  }
}

TEST_F(WalkerTest, MissingRootThrows) {
  try {
    walk_on(s.fs, "/nowhere", {});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), "/nowhere");
  }
}

TEST_F(WalkerTest, EmptyStore) {
  Model m = s.walk();
  EXPECT_EQ(m.root, "/r");
  EXPECT_TRUE(m.repositories.empty());
  EXPECT_TRUE(m.blobs.empty());
  EXPECT_TRUE(m.manifests.empty());
  EXPECT_EQ(finding_lines(m), Lines{});
}

// --- a healthy tree ---------------------------------------------------------------------------

TEST_F(WalkerTest, OneImage) {
  Image img = s.add_image("app", "v1", {"layer one", "layer two!"});
  Model m = s.walk();

  EXPECT_EQ(finding_lines(m), Lines{});
  ASSERT_EQ(repo_names(m), std::vector<std::string>{"app"});
  const storage::Repository& repo = m.repositories[0];

  ASSERT_EQ(repo.tags.size(), 1u);
  EXPECT_EQ(repo.tags[0].name, "v1");
  EXPECT_EQ(repo.tags[0].current, img.manifest);
  EXPECT_EQ(repo.tags[0].history, std::vector<Digest>{img.manifest});
  ASSERT_EQ(repo.revisions.size(), 1u);
  EXPECT_EQ(repo.revisions[0].digest, img.manifest);
  EXPECT_TRUE(repo.has_revision(img.manifest));
  EXPECT_FALSE(repo.has_revision(img.config));
  EXPECT_EQ(repo.find_tag("v1"), &repo.tags[0]);
  EXPECT_EQ(repo.find_tag("v2"), nullptr);

  std::vector<Digest> linked{img.config, img.layers[0], img.layers[1]};
  std::sort(linked.begin(), linked.end());
  ASSERT_EQ(repo.layers.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(repo.layers[i].digest, linked[i]);

  ASSERT_EQ(m.blobs.size(), 4u);
  for (const Digest& d : {img.manifest, img.config, img.layers[0], img.layers[1]}) {
    const storage::BlobRecord* b = m.find_blob(d);
    ASSERT_NE(b, nullptr) << d.str();
    EXPECT_TRUE(b->has_data);
    EXPECT_EQ(b->size, s.size_of(d));
  }
  EXPECT_EQ(m.find_blob(img.layers[0])->size, 9u);  // "layer one"

  ASSERT_EQ(m.manifests.size(), 1u);
  const storage::ManifestRecord& rec = m.manifests[0];
  EXPECT_EQ(rec.digest, img.manifest);
  EXPECT_TRUE(rec.readable);
  EXPECT_EQ(rec.size, s.size_of(img.manifest));
  EXPECT_EQ(rec.parsed.kind, ManifestKind::OciManifest);
  ASSERT_TRUE(rec.parsed.config);
  EXPECT_EQ(rec.parsed.config->digest, img.config);
  ASSERT_EQ(rec.parsed.layers.size(), 2u);
  EXPECT_EQ(rec.parsed.layers[1].digest, img.layers[1]);
}

TEST_F(WalkerTest, NestedRepositories) {
  s.add_image("team/app", "v1", {"a"});
  s.add_image("team/app/sub", "v1", {"b"});
  s.add_image("a/b/c", "v1", {"c"});
  s.add_image("zeta", "v1", {"d"});
  s.fs.add_dir(at(layout::repo_dir("empty/folder")));  // not a repository: nothing below it
  Model m = s.walk();
  EXPECT_EQ(repo_names(m), (std::vector<std::string>{"a/b/c", "team/app", "team/app/sub", "zeta"}));
  EXPECT_EQ(finding_lines(m), Lines{});
  EXPECT_NE(m.find_repository("team/app/sub"), nullptr);
  EXPECT_EQ(m.find_repository("team"), nullptr);
  EXPECT_EQ(m.find_repository("empty/folder"), nullptr);
}

TEST_F(WalkerTest, DeeplyNestedRepositoryName) {
  // 100 components "a/a/.../a" is 199 characters: a valid name (255 at most, any depth).
  std::string deep = "a";
  for (int i = 1; i < 100; ++i) deep += "/a";
  ASSERT_TRUE(util::is_valid_repository_name(deep));
  std::string sixty_four = "b";
  for (int i = 1; i < 64; ++i) sixty_four += "/b";
  s.add_image(sixty_four, "v1", {"at depth 64"});
  s.add_image(deep, "v1", {"deep layer"});
  Model m = s.walk();
  EXPECT_NE(m.find_repository(sixty_four), nullptr);
  ASSERT_NE(m.find_repository(deep), nullptr);
  EXPECT_EQ(finding_lines(m), Lines{});
}

TEST_F(WalkerTest, RepositoryWithOnlyUploads) {
  s.add_upload("new/repo", "u1", std::nullopt, "x", 0);
  s.fs.add_file(at(layout::upload_dir("new/repo", "u1") + "/startedat"), "2026-01-01T00:00:00Z");
  Model m = s.walk();
  EXPECT_EQ(repo_names(m), std::vector<std::string>{"new/repo"});
}

TEST_F(WalkerTest, TagCurrentAndHistory) {
  Image old_img = s.add_image("app", "v1", {"old layer"});
  Image new_img = s.put_image("app:v1 again", {"new layer"});
  s.link_image("app", new_img);
  s.set_tag("app", "v1", new_img.manifest, 12345);  // the tag moves; index/ keeps both
  s.set_tag("app", "latest", new_img.manifest, 777);
  Model m = s.walk();

  EXPECT_EQ(finding_lines(m), Lines{});
  const storage::Repository* repo = m.find_repository("app");
  ASSERT_NE(repo, nullptr);
  ASSERT_EQ(repo->tags.size(), 2u);
  EXPECT_EQ(repo->tags[0].name, "latest");  // sorted by name
  EXPECT_EQ(repo->tags[0].current, new_img.manifest);
  EXPECT_EQ(repo->tags[0].pushed_ns, 777);
  const storage::TagLink* v1 = repo->find_tag("v1");
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(v1->current, new_img.manifest);
  EXPECT_EQ(v1->pushed_ns, 12345);
  std::vector<Digest> history{old_img.manifest, new_img.manifest};
  std::sort(history.begin(), history.end());
  EXPECT_EQ(v1->history, history);

  std::vector<Digest> revisions;
  for (const auto& r : repo->revisions) revisions.push_back(r.digest);
  EXPECT_EQ(revisions, history);  // both revisions, sorted
  EXPECT_EQ(m.manifests.size(), 2u);
}

TEST_F(WalkerTest, UntaggedRevisionAfterApiDelete) {
  Image img = s.add_image("app", "v1", {"l"});
  Image gone = s.add_image("app", "v2", {"m"});
  // DELETE by digest: the revision link goes (its folder stays), and every tag on it.
  s.fs.remove(at(layout::revision_link("app", gone.manifest)));
  s.fs.remove(at(layout::tag_dir("app", "v2")));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{});  // an empty revision folder is normal
  const storage::Repository* repo = m.find_repository("app");
  ASSERT_NE(repo, nullptr);
  ASSERT_EQ(repo->revisions.size(), 1u);
  EXPECT_EQ(repo->revisions[0].digest, img.manifest);
  EXPECT_EQ(repo->tags.size(), 1u);
  EXPECT_EQ(m.find_manifest(gone.manifest), nullptr);  // not read: nothing names it
}

TEST_F(WalkerTest, Uploads) {
  s.add_upload("app", "b-with-startedat", std::string("2026-11-24T03:45:25.5Z"), "12345", 1000);
  s.add_upload("app", "a-without", std::nullopt, "1234567", 2000);
  Model m = s.walk();
  const storage::Repository* repo = m.find_repository("app");
  ASSERT_NE(repo, nullptr);
  ASSERT_EQ(repo->uploads.size(), 2u);
  const storage::Upload& without = repo->uploads[0];
  EXPECT_EQ(without.id, "a-without");
  EXPECT_FALSE(without.started_at_ns);
  EXPECT_EQ(without.bytes, 7u);
  EXPECT_EQ(without.newest_mtime_ns, 2000);
  const storage::Upload& with = repo->uploads[1];
  EXPECT_EQ(with.id, "b-with-startedat");
  EXPECT_EQ(with.started_at_ns, 1795491925LL * 1'000'000'000 + 500'000'000);
  EXPECT_EQ(with.bytes, 5u);
  EXPECT_EQ(with.newest_mtime_ns, 1000);
  EXPECT_EQ(finding_lines(m),
            Lines{line(FindingKind::UploadWithoutStartedAt, at(layout::upload_dir("app", "a-without") + "/startedat"))});
}

TEST_F(WalkerTest, UploadWithGarbageStartedAt) {
  s.add_upload("app", "u", std::string("yesterday"), "x", 5);
  Model m = s.walk();
  ASSERT_EQ(m.repositories.size(), 1u);
  ASSERT_EQ(m.repositories[0].uploads.size(), 1u);
  EXPECT_FALSE(m.repositories[0].uploads[0].started_at_ns);
  EXPECT_EQ(finding_lines(m),
            Lines{line(FindingKind::UploadWithoutStartedAt, at(layout::upload_dir("app", "u") + "/startedat"))});
}

TEST_F(WalkerTest, FindingsAreSortedByPath) {
  Image a = s.add_image("b-repo", "v1", {"x"});
  Image b = s.add_image("a-repo", "v1", {"y"});
  s.fs.remove(at(layout::blob_dir(a.layers[0])));
  s.fs.remove(at(layout::blob_dir(b.config)));
  s.fs.add_file(at(layout::v2("stray")), "");
  Model m = s.walk(3);
  ASSERT_EQ(m.findings.size(), 3u);
  for (std::size_t i = 1; i < m.findings.size(); ++i) EXPECT_LE(m.findings[i - 1].path, m.findings[i].path);
}

// --- jobs -----------------------------------------------------------------------------------

std::string at_blob(const FakeStore& s, const Digest& d) { return s.at(layout::blob_data(d)); }

// A tree with some of everything, healthy and damaged.
void build_mixed_tree(FakeStore& s) {
  for (int r = 0; r < 12; ++r) {
    std::string repo = "team" + std::to_string(r % 2) + "/app" + std::to_string(r);
    Image img = s.add_image(repo, "v1", {"shared base", "own layer " + std::to_string(r)});
    Image a = s.put_image(repo + " amd64", {"amd64 " + std::to_string(r)});
    Image b = s.put_image(repo + " arm64", {"arm64 " + std::to_string(r)});
    s.add_index(repo, "multi", {a, b});
    s.add_referrer(repo, img.manifest, "application/vnd.example.sig", {"sig " + std::to_string(r)});
    s.add_upload(repo, "upload" + std::to_string(r), r % 2 ? std::optional<std::string>("2026-01-01T00:00:00Z") : std::nullopt,
                 "data", r * 1000);
    if (r % 6 == 1) s.fs.remove(at_blob(s, img.layers[1]));
    if (r % 6 == 2) s.add_link(layout::revision_link(repo, util::sha256("garbage")), util::sha256("other"));
    if (r % 6 == 3) s.fs.add_file(s.at(layout::tag_current_link(repo, "broken")), "garbage");
    if (r % 6 == 4) s.fs.add_file(s.at(layout::layer_link(repo, util::sha256("short"))), "sha256:short");
    // A manifest missing both its config and its layer: two findings on one path.
    if (r % 6 == 5) {
      Image half = s.add_image(repo, "half", {"half layer"});
      s.fs.remove(at_blob(s, half.config));
      s.fs.remove(at_blob(s, half.layers[0]));
    }
  }
  s.fs.add_file(s.at(layout::v2("stray")), "x");
  s.fs.add_dir(s.at(layout::blob_dir(util::sha256("no data"))));
}

TEST_F(WalkerTest, SameModelWithOneOrThreeJobs) {
  build_mixed_tree(s);
  Model one = s.walk(1);
  Model three = s.walk(3);
  EXPECT_GE(one.findings.size(), 20u);  // more than std::sort's insertion-sort cutoff (16)
  EXPECT_EQ(one.repositories.size(), 12u);
  EXPECT_EQ(dump_model(one), dump_model(three));
  EXPECT_EQ(findings_any_order(one), findings_any_order(three));
  Model many = s.walk(16);  // more jobs than some of the work
  EXPECT_EQ(dump_model(one), dump_model(many));
  EXPECT_EQ(findings_any_order(one), findings_any_order(many));
}

TEST_F(WalkerTest, FindingOrderDoesNotDependOnJobs) {
  build_mixed_tree(s);
  EXPECT_EQ(findings_in_order(s.walk(1)), findings_in_order(s.walk(3)));
}

// --- each manifest is read once ----------------------------------------------------------------

TEST_F(WalkerTest, ManifestBlobReadOnceForThreeRepositories) {
  Image img = s.put_image("shared", {"shared layer"});
  for (const char* repo : {"one", "two", "three"}) {
    s.link_image(repo, img);
    s.set_tag(repo, "v1", img.manifest);
    s.set_tag(repo, "latest", img.manifest);
  }
  for (unsigned jobs : {1u, 3u}) {
    InstrumentedFileSystem fs(s.fs);
    Model m = walk_on(fs, s.root, storage::WalkOptions{jobs});
    EXPECT_EQ(fs.reads_of(at(layout::blob_data(img.manifest))), 1) << "jobs " << jobs;
    // Layers and configs are only stat'ed by the walk.
    EXPECT_EQ(fs.reads_of(at(layout::blob_data(img.config))), 0) << "jobs " << jobs;
    EXPECT_EQ(fs.reads_of(at(layout::blob_data(img.layers[0]))), 0) << "jobs " << jobs;
    // And so are layer links (a valid one is exactly 71 bytes).
    EXPECT_EQ(fs.reads_of(at(layout::layer_link("one", img.layers[0]))), 0) << "jobs " << jobs;
    EXPECT_EQ(m.manifests.size(), 1u);
    EXPECT_EQ(finding_lines(m), Lines{});
  }
  // The fake records it too.
  EXPECT_EQ(s.fs.files_read().count(at(layout::blob_data(img.manifest))), 1u);
}

TEST_F(WalkerTest, IndexChildrenReadAlthoughNotTagged) {
  Image amd = s.put_image("amd64", {"amd64 layer"});
  Image arm = s.put_image("arm64", {"arm64 layer"});
  Digest inner = s.put_index({arm.manifest});
  Digest outer = s.put_index({amd.manifest, inner});
  // Only the outer index is in the repository: no revision for any child.
  s.add_revision("app", outer);
  s.set_tag("app", "v1", outer);
  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, {});

  for (const Digest& d : {outer, inner, amd.manifest, arm.manifest}) {
    const storage::ManifestRecord* rec = m.find_manifest(d);
    ASSERT_NE(rec, nullptr) << d.str();
    EXPECT_TRUE(rec->readable);
    EXPECT_EQ(fs.reads_of(at(layout::blob_data(d))), 1) << d.str();
  }
  EXPECT_EQ(m.manifests.size(), 4u);
  EXPECT_EQ(m.find_manifest(outer)->parsed.kind, ManifestKind::OciIndex);
  EXPECT_EQ(m.find_manifest(inner)->parsed.kind, ManifestKind::OciIndex);
  EXPECT_EQ(m.find_manifest(arm.manifest)->parsed.kind, ManifestKind::OciManifest);
  ASSERT_EQ(m.find_manifest(outer)->parsed.children.size(), 2u);
  EXPECT_EQ(m.find_manifest(outer)->parsed.children[1].platform, "linux/arm64/v8");
  EXPECT_EQ(finding_lines(m), Lines{});
}

TEST_F(WalkerTest, IndexThatContainsItselfDoesNotLoop) {
  // No real index can name its own digest; a damaged (or forged) blob can.
  Digest self = util::sha256("the digest the index claims");
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kOciIndex},
           {"manifests", {{{"mediaType", media_type::kOciIndex}, {"digest", self.str()}, {"size", 1}}}}};
  s.add_blob_at(self, doc.dump());
  s.add_revision("app", self);
  s.set_tag("app", "loop", self);
  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, {});
  ASSERT_EQ(m.manifests.size(), 1u);
  EXPECT_EQ(m.manifests[0].digest, self);
  EXPECT_EQ(fs.reads_of(at(layout::blob_data(self))), 1);
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::ManifestDigestMismatch, at(layout::blob_data(self)))});
}

TEST_F(WalkerTest, TwoIndexesThatContainEachOtherDoNotLoop) {
  Digest a = util::sha256("index a"), b = util::sha256("index b");
  auto index_of = [](const Digest& child) {
    return json{{"schemaVersion", 2},
                {"mediaType", media_type::kOciIndex},
                {"manifests", {{{"mediaType", media_type::kOciIndex}, {"digest", child.str()}, {"size", 1}}}}}
        .dump();
  };
  s.add_blob_at(a, index_of(b));
  s.add_blob_at(b, index_of(a));
  s.add_revision("app", a);
  s.set_tag("app", "loop", a);
  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, storage::WalkOptions{3});
  EXPECT_EQ(m.manifests.size(), 2u);
  EXPECT_EQ(fs.reads_of(at(layout::blob_data(a))), 1);
  EXPECT_EQ(fs.reads_of(at(layout::blob_data(b))), 1);
}

// --- one damage, one finding -----------------------------------------------------------------

TEST_F(WalkerTest, TagCurrentToMissingRevision) {
  Image img = s.put_image("elsewhere", {"l"});  // blobs exist, no revision in "app"
  s.set_tag("app", "v1", img.manifest);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            Lines{line(FindingKind::TagCurrentMissingRevision, at(layout::tag_current_link("app", "v1")))});
  EXPECT_EQ(m.repositories[0].tags[0].current, img.manifest);
}

TEST_F(WalkerTest, TagCurrentToMissingBlob) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.remove(at(layout::blob_dir(img.manifest)));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            (Lines{line(FindingKind::TagCurrentMissingBlob, at(layout::tag_current_link("app", "v1"))),
                   line(FindingKind::RevisionMissingBlob, at(layout::revision_link("app", img.manifest)))}));
  ASSERT_NE(m.find_manifest(img.manifest), nullptr);
  EXPECT_FALSE(m.find_manifest(img.manifest)->readable);
}

TEST_F(WalkerTest, TagWithoutCurrent) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.remove(at(layout::tag_dir("app", "v1") + "/current"));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::TagWithoutCurrent, at(layout::tag_current_link("app", "v1")))});
  ASSERT_EQ(m.repositories[0].tags.size(), 1u);
  EXPECT_FALSE(m.repositories[0].tags[0].current);
  EXPECT_EQ(m.repositories[0].tags[0].history, std::vector<Digest>{img.manifest});
}

TEST_F(WalkerTest, RevisionMissingBlob) {
  Image img = s.put_image("untagged", {"l"});
  s.link_image("app", img);
  s.fs.remove(at(layout::blob_dir(img.manifest)));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            Lines{line(FindingKind::RevisionMissingBlob, at(layout::revision_link("app", img.manifest)))});
}

TEST_F(WalkerTest, ManifestMissingLayer) {
  Image img = s.add_image("app", "v1", {"present", "gone"});
  s.fs.remove(at(layout::blob_dir(img.layers[1])));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::ManifestMissingReference, at(layout::blob_data(img.manifest)))});
  EXPECT_NE(m.findings[0].message.find(img.layers[1].str()), std::string::npos) << m.findings[0].message;
}

TEST_F(WalkerTest, ManifestMissingConfigAndChild) {
  Image img = s.add_image("app", "v1", {"l"});
  Image child = s.put_image("child", {"c"});
  Digest index = s.add_index("app", "multi", {child});
  s.fs.remove(at(layout::blob_dir(img.config)));
  s.fs.remove(at(layout::blob_dir(child.manifest)));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            (Lines{line(FindingKind::ManifestMissingReference, at(layout::blob_data(img.manifest))),
                   line(FindingKind::ManifestMissingReference, at(layout::blob_data(index))),
                   line(FindingKind::RevisionMissingBlob, at(layout::revision_link("app", child.manifest)))}));
}

TEST_F(WalkerTest, ForeignLayerIsNotMissing) {
  Image base = s.add_image("app", "v1", {"l"});
  json manifest{{"schemaVersion", 2},
                {"mediaType", media_type::kDockerManifest},
                {"config", s.descriptor(kDockerConfigType, base.config)},
                {"layers",
                 {{{"mediaType", "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"},
                   {"digest", util::sha256("windows base layer").str()},
                   {"size", 1 << 30},
                   {"urls", {"https://example.com/layer"}}}}}};
  Digest d = s.add_blob(manifest.dump());
  s.add_revision("app", d);
  s.set_tag("app", "windows", d);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{});
  EXPECT_TRUE(m.find_manifest(d)->parsed.layers[0].foreign);
}

TEST_F(WalkerTest, UnparsableManifest) {
  Digest d = s.add_blob("this is not a manifest");
  s.add_revision("app", d);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::ManifestUnparsable, at(layout::blob_data(d)))});
  ASSERT_NE(m.find_manifest(d), nullptr);
  EXPECT_TRUE(m.find_manifest(d)->readable);
  EXPECT_EQ(m.find_manifest(d)->parsed.kind, ManifestKind::Unparsable);
}

TEST_F(WalkerTest, UnknownManifestType) {
  Digest d = s.add_blob(json{{"schemaVersion", 2}, {"mediaType", "application/vnd.example+json"}}.dump());
  s.add_revision("app", d);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::ManifestUnknownType, at(layout::blob_data(d)))});
  EXPECT_EQ(m.find_manifest(d)->parsed.kind, ManifestKind::Unknown);
}

TEST_F(WalkerTest, ManifestDigestMismatch) {
  Image img = s.put_image("real", {"l"});
  Digest claimed = util::sha256("something else");
  std::string content = s.fs.nodes().at(at(layout::blob_data(img.manifest))).content;
  s.add_blob_at(claimed, content);
  s.add_revision("app", claimed);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::ManifestDigestMismatch, at(layout::blob_data(claimed)))});
  // Still parsed: what it references is known.
  EXPECT_EQ(m.find_manifest(claimed)->parsed.kind, ManifestKind::OciManifest);
}

TEST_F(WalkerTest, ManifestTooLarge) {
  std::string big(storage::kMaxManifestBytes + 1, ' ');
  Digest d = s.add_blob(big);
  s.add_revision("app", d);
  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, {});
  // Reported, and still read (up to 64 MiB) so that what it references is known: here it
  // is not JSON at all.
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::ManifestTooLarge, at(layout::blob_data(d))),
                                     line(FindingKind::ManifestUnparsable, at(layout::blob_data(d)))}));
  EXPECT_TRUE(m.find_manifest(d)->readable);
  // Exactly 4 MiB is fine.
  FakeStore t;
  Digest limit = t.add_blob(std::string(storage::kMaxManifestBytes, ' '));
  t.add_revision("app", limit);
  EXPECT_EQ(finding_lines(t.walk()), Lines{line(FindingKind::ManifestUnparsable, t.at(layout::blob_data(limit)))});
}

TEST_F(WalkerTest, EmptyLinks) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_file(at(layout::revision_link("app", img.manifest)), "");
  s.fs.add_file(at(layout::tag_current_link("app", "v1")), "");
  s.fs.add_file(at(layout::layer_link("app", img.layers[0])), "");
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::LinkEmpty, at(layout::revision_link("app", img.manifest))),
                                     line(FindingKind::LinkEmpty, at(layout::tag_current_link("app", "v1"))),
                                     line(FindingKind::LinkEmpty, at(layout::layer_link("app", img.layers[0])))}));
  const storage::Repository& repo = m.repositories[0];
  EXPECT_TRUE(repo.revisions.empty());
  EXPECT_FALSE(repo.tags[0].current);
  EXPECT_EQ(repo.layers.size(), 1u);  // the config's link only
}

TEST_F(WalkerTest, FindingsCarryTheirKeyRepositoryAndDigest) {
  Image img = s.add_image("team/app", "v1", {"l"});
  s.fs.add_file(at(layout::revision_link("team/app", img.manifest)), "");
  s.fs.add_file(at(layout::tag_current_link("team/app", "v1")), "");
  s.fs.add_file(at(layout::v2("stray")), "x");
  Model m = s.walk();
  std::map<std::string, const storage::Finding*> by_key;
  for (const auto& f : m.findings) by_key[f.key] = &f;
  const storage::Finding* rev = by_key[layout::revision_link("team/app", img.manifest)];
  ASSERT_TRUE(rev);
  EXPECT_EQ(rev->path, at(rev->key));
  EXPECT_EQ(rev->repository, "team/app");
  EXPECT_EQ(rev->digest, img.manifest);
  const storage::Finding* tag = by_key[layout::tag_current_link("team/app", "v1")];
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->repository, "team/app");
  EXPECT_FALSE(tag->digest);  // a tag is named, not digested
  const storage::Finding* stray = by_key[layout::v2("stray")];
  ASSERT_TRUE(stray);
  EXPECT_TRUE(stray->repository.empty());
  EXPECT_FALSE(stray->digest);
}

TEST_F(WalkerTest, GarbageLinks) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_file(at(layout::revision_link("app", img.manifest)), "garbage");
  s.fs.add_file(at(layout::tag_current_link("app", "v1")), img.manifest.str() + "\n");  // hand-edited
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::LinkMalformed, at(layout::revision_link("app", img.manifest))),
                                     line(FindingKind::LinkMalformed, at(layout::tag_current_link("app", "v1")))}));
  EXPECT_TRUE(m.repositories[0].revisions.empty());
  EXPECT_FALSE(m.repositories[0].tags[0].current);
}

TEST_F(WalkerTest, LayerLinkOfSeventyBytes) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_file(at(layout::layer_link("app", img.layers[0])), img.layers[0].str().substr(0, 70));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::LinkMalformed, at(layout::layer_link("app", img.layers[0])))});
  ASSERT_EQ(m.repositories[0].layers.size(), 1u);
  EXPECT_EQ(m.repositories[0].layers[0].digest, img.config);
}

TEST_F(WalkerTest, LinkFarTooLarge) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_file(at(layout::revision_link("app", img.manifest)), std::string(100000, 'x'));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            (Lines{line(FindingKind::LinkMalformed, at(layout::revision_link("app", img.manifest))),
                   // The tag names a digest the repository now has no (usable) revision for.
                   line(FindingKind::TagCurrentMissingRevision, at(layout::tag_current_link("app", "v1")))}));
}

TEST_F(WalkerTest, Sha512Link) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_file(at(layout::revision_link("app", img.manifest)), "sha512:" + std::string(128, 'a'));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            (Lines{line(FindingKind::LinkWrongAlgorithm, at(layout::revision_link("app", img.manifest))),
                   line(FindingKind::TagCurrentMissingRevision, at(layout::tag_current_link("app", "v1")))}));
}

TEST_F(WalkerTest, LinkMismatch) {
  Image img = s.add_image("app", "v1", {"l"});
  Digest folder = util::sha256("another manifest");
  s.add_link(layout::revision_link("app", folder), img.manifest);  // folder of one, content of another
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::LinkMismatch, at(layout::revision_link("app", folder)))});
}

TEST_F(WalkerTest, BlobFolderWithoutData) {
  Digest d = util::sha256("interrupted");
  s.fs.add_dir(at(layout::blob_dir(d)));
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::BlobWithoutData, at(layout::blob_dir(d)))});
  ASSERT_EQ(m.blobs.size(), 1u);
  EXPECT_FALSE(m.blobs[0].has_data);
  EXPECT_FALSE(m.blob_present(d));
}

TEST_F(WalkerTest, UnexpectedFiles) {
  Image img = s.add_image("app", "v1", {"l"});
  Digest d = util::sha256("x");
  s.fs.add_file(at(layout::v2("stray.txt")), "");
  s.fs.add_dir(at(layout::v2("blobs/sha512")));
  s.fs.add_file(at(layout::v2("blobs/sha256/README")), "");
  s.fs.add_dir(at(layout::v2("blobs/sha256/" + d.prefix() + "/not-a-digest")));
  s.fs.add_dir(at(layout::v2("blobs/sha256/00/" + d.hex())));  // in the wrong prefix folder
  s.fs.add_file(at(layout::repo_dir("app") + "/notes.txt"), "");
  s.fs.add_dir(at(layout::repo_dir("app") + "/_manifests/extra"));
  s.fs.add_dir(at(layout::repo_dir("app") + "/_other"));
  s.fs.add_dir(at(layout::repo_dir("_top")));
  s.fs.add_file(at(layout::repo_dir("app") + "/_manifests/revisions/sha256/" + "nothex"), "");
  s.fs.add_file(at(layout::repo_dir("app") + "/_manifests/tags/file"), "");
  s.fs.add_file(at(layout::repo_dir("app") + "/_uploads/file"), "");
  Model m = s.walk();
  Lines expected;
  for (const std::string& rel :
       {layout::v2("stray.txt"), layout::v2("blobs/sha512"), layout::v2("blobs/sha256/README"),
        layout::v2("blobs/sha256/" + d.prefix() + "/not-a-digest"), layout::v2("blobs/sha256/00/" + d.hex()),
        layout::repo_dir("app") + "/notes.txt", layout::repo_dir("app") + "/_manifests/extra",
        layout::repo_dir("app") + "/_other", layout::repo_dir("_top"),
        layout::repo_dir("app") + "/_manifests/revisions/sha256/nothex", layout::repo_dir("app") + "/_manifests/tags/file",
        layout::repo_dir("app") + "/_uploads/file"})
    expected.insert(line(FindingKind::UnexpectedFile, at(rel)));
  EXPECT_EQ(finding_lines(m), expected);
  EXPECT_EQ(m.blobs.size(), 3u);  // the image's own
  EXPECT_TRUE(m.find_repository("app")->has_revision(img.manifest));
}

TEST_F(WalkerTest, InvalidNames) {
  s.add_image("Team/App", "v1", {"l"});   // upper case folders
  s.add_image("ok", ".hidden", {"m"});     // a tag the registry would refuse
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::InvalidName, at(layout::repo_dir("Team/App"))),
                                     line(FindingKind::InvalidName, at(layout::tag_dir("ok", ".hidden")))}));
  // Still read: what it holds is still in the store.
  EXPECT_EQ(repo_names(m), (std::vector<std::string>{"Team/App", "ok"}));
  ASSERT_EQ(m.find_repository("ok")->tags.size(), 1u);
}

TEST_F(WalkerTest, UnreadableManifestAndLink) {
  Image img = s.add_image("app", "v1", {"l"});
  Image other = s.add_image("app", "v2", {"m"});
  InstrumentedFileSystem fs(s.fs);
  fs.fail_reads_of(at(layout::blob_data(img.manifest)));
  fs.fail_reads_of(at(layout::revision_link("app", other.manifest)));
  Model m = walk_on(fs, s.root, {});
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::Unreadable, at(layout::blob_data(img.manifest))),
                                     line(FindingKind::Unreadable, at(layout::revision_link("app", other.manifest))),
                                     // v2's revision could not be read, so the tag names a revision it lacks.
                                     line(FindingKind::TagCurrentMissingRevision, at(layout::tag_current_link("app", "v2")))}));
  EXPECT_FALSE(m.find_manifest(img.manifest)->readable);
}

TEST_F(WalkerTest, SymlinkInsideRepositoriesIsReportedNotFollowed) {
  s.add_image("app", "v1", {"l"});
  const std::string link = at(layout::repo_dir("evil"));
  s.fs.add_node(link, FileType::Symlink);
  // What the link would lead to if it were followed.
  Image img = s.put_image("evil", {"e"});
  s.add_revision("evil", img.manifest);
  ASSERT_EQ(s.fs.nodes().at(link).type, FileType::Symlink);
  s.fs.add_node(at(layout::repo_dir("team")) + "/linked", FileType::Symlink);

  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, {});
  EXPECT_EQ(repo_names(m), std::vector<std::string>{"app"});
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::Symlink, link),
                                     line(FindingKind::Symlink, at(layout::repo_dir("team")) + "/linked")}));
  EXPECT_EQ(fs.reads_of(at(layout::revision_link("evil", img.manifest))), 0);
  EXPECT_EQ(m.find_manifest(img.manifest), nullptr);
}

TEST_F(WalkerTest, SymlinkAsBlobData) {
  Digest d = util::sha256("linked blob");
  s.fs.add_node(at(layout::blob_data(d)), FileType::Symlink);
  s.fs.add_node(at(layout::v2("blobs/sha256/ff")), FileType::Symlink);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::Symlink, at(layout::blob_data(d))),
                                     line(FindingKind::Symlink, at(layout::v2("blobs/sha256/ff")))}));
  for (const auto& f : m.findings) EXPECT_EQ(f.severity, storage::Severity::Error) << f.path;
  ASSERT_EQ(m.blobs.size(), 1u);
  // The registry follows the link and serves a blob: present (size unknown, 0), so that
  // nothing referencing it is taken for garbage; never read.
  EXPECT_TRUE(m.blobs[0].has_data);
  EXPECT_EQ(m.blobs[0].size, 0u);
}

TEST_F(WalkerTest, FifoWhereALinkBelongs) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_node(at(layout::revision_link("app", img.manifest)), FileType::Other);
  s.fs.add_node(at(layout::tag_current_link("app", "v1")), FileType::Other);
  s.fs.add_node(at(layout::layer_link("app", img.layers[0])), FileType::Other);
  s.fs.add_node(at(layout::upload_dir("app", "u") + "/startedat"), FileType::Other);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m),
            (Lines{line(FindingKind::UnexpectedFile, at(layout::revision_link("app", img.manifest))),
                   line(FindingKind::UnexpectedFile, at(layout::tag_current_link("app", "v1"))),
                   line(FindingKind::UnexpectedFile, at(layout::layer_link("app", img.layers[0]))),
                   line(FindingKind::UploadWithoutStartedAt, at(layout::upload_dir("app", "u") + "/startedat"))}));
  EXPECT_TRUE(m.repositories[0].revisions.empty());
  EXPECT_FALSE(m.repositories[0].tags[0].current);
  // Never read: a FIFO's open would block.
  EXPECT_EQ(s.fs.files_read().count(at(layout::revision_link("app", img.manifest))), 0u);
  EXPECT_EQ(s.fs.files_read().count(at(layout::tag_current_link("app", "v1"))), 0u);
}

// Every kind of finding, each from its own damage in one tree.
TEST_F(WalkerTest, EveryFindingKindHasADamage) {
  Image a = s.add_image("a", "v1", {"a"});
  s.set_tag("a", "to-missing-revision", s.put_image("nowhere", {"n"}).manifest);        // TagCurrentMissingRevision
  Image b = s.add_image("b", "v1", {"b"});
  s.fs.remove(at(layout::blob_dir(b.manifest)));                                         // TagCurrentMissingBlob, RevisionMissingBlob
  s.fs.remove(at(layout::tag_dir("a", "v1") + "/current"));                              // TagWithoutCurrent
  Image c = s.add_image("c", "v1", {"c"});
  s.fs.remove(at(layout::blob_dir(c.layers[0])));                                        // ManifestMissingReference
  s.add_revision("d", s.add_blob("not json"));                                           // ManifestUnparsable
  Digest forged = util::sha256("forged");
  s.add_blob_at(forged, "{}");
  s.add_revision("d", forged);                                                           // ManifestDigestMismatch (+ Unknown)
  s.add_revision("d", s.add_blob(std::string(storage::kMaxManifestBytes + 1, 'x')));     // ManifestTooLarge
  s.add_revision("d", s.add_blob(json{{"mediaType", "x/y"}}.dump()));                    // ManifestUnknownType
  s.fs.add_file(at(layout::layer_link("e", util::sha256("1"))), "");                     // LinkEmpty
  s.fs.add_file(at(layout::revision_link("e", util::sha256("2"))), "garbage");           // LinkMalformed
  s.fs.add_file(at(layout::revision_link("e", util::sha256("3"))), "sha512:" + std::string(128, 'f'));  // LinkWrongAlgorithm
  s.add_link(layout::revision_link("e", util::sha256("4")), a.manifest);                 // LinkMismatch
  s.fs.add_dir(at(layout::blob_dir(util::sha256("5"))));                                 // BlobWithoutData
  s.add_upload("e", "u", std::nullopt, "", 0);                                           // UploadWithoutStartedAt
  s.fs.add_file(at(layout::v2("stray")), "");                                            // UnexpectedFile
  s.add_image("Upper", "v1", {"u"});                                                     // InvalidName
  s.fs.add_node(at(layout::tag_dir("a", "linked")), FileType::Symlink);                   // Symlink
  InstrumentedFileSystem fs(s.fs);
  fs.fail_reads_of(at(layout::blob_data(a.manifest)));                                   // Unreadable

  Model one = walk_on(fs, s.root, storage::WalkOptions{1});
  std::set<FindingKind> kinds;
  for (const auto& f : one.findings) kinds.insert(f.kind);
  for (int k = 0; k <= static_cast<int>(FindingKind::Symlink); ++k)
    EXPECT_TRUE(kinds.count(static_cast<FindingKind>(k)))
        << "no " << storage::to_string(static_cast<FindingKind>(k)) << " finding";

  Model three = walk_on(fs, s.root, storage::WalkOptions{3});
  EXPECT_EQ(dump_model(one), dump_model(three));
  EXPECT_EQ(findings_any_order(one), findings_any_order(three));
}


// --- hostile input (issue #9, fixtures/malformed/) ------------------------------------------

storage::Severity severity_at(const Model& m, const std::string& path) {
  for (const auto& f : m.findings)
    if (f.path == path) return f.severity;
  ADD_FAILURE() << "no finding at " << path;
  return storage::Severity::Info;
}

// A stand-in where the registry keeps something it needs is an error (shown without -v); a
// stray extra is informational.
TEST_F(WalkerTest, StandInsAreErrorsStraysAreInfo) {
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.add_node(at(layout::revision_link("app", img.manifest)), FileType::Other);  // FIFO
  s.fs.add_file(at(layout::repo_dir("app") + "/_manifests/notes.txt"), "");
  s.fs.add_file(at(layout::repo_dir("stray")), "not a repository");
  s.add_upload("app", "garbage", std::nullopt, "", 0);
  s.fs.add_file(at(layout::upload_dir("app", "garbage") + "/startedat"), "yesterday, roughly");
  s.add_upload("app", "fresh", std::nullopt, "", 0);
  Model m = s.walk();
  EXPECT_EQ(severity_at(m, at(layout::revision_link("app", img.manifest))), storage::Severity::Error);
  EXPECT_EQ(severity_at(m, at(layout::repo_dir("app") + "/_manifests/notes.txt")), storage::Severity::Info);
  EXPECT_EQ(severity_at(m, at(layout::repo_dir("stray"))), storage::Severity::Warning);
  EXPECT_EQ(severity_at(m, at(layout::upload_dir("app", "garbage") + "/startedat")), storage::Severity::Warning);
  EXPECT_EQ(severity_at(m, at(layout::upload_dir("app", "fresh") + "/startedat")), storage::Severity::Info);
}

// tags/<t>/current as a symlink: reading current/link would go through it.
TEST_F(WalkerTest, SymlinkedCurrentIsNotFollowed) {
  Image img = s.add_image("app", "v1", {"l"});
  Image other = s.add_image("app", "v2", {"m"});
  const std::string current = at(layout::tag_dir("app", "v1") + "/current");
  s.fs.remove(current);
  s.fs.add_node(current, FileType::Symlink);
  s.fs.add_file(current + "/link", other.manifest.str());  // what is behind it
  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, {});
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::Symlink, current)});
  EXPECT_EQ(severity_at(m, current), storage::Severity::Error);
  EXPECT_EQ(fs.reads_of(current + "/link"), 0);
  const storage::TagLink* v1 = m.repositories[0].find_tag("v1");
  ASSERT_NE(v1, nullptr);
  EXPECT_FALSE(v1->current);
  EXPECT_TRUE(m.repositories[0].has_revision(img.manifest));
}

// A folder of the layout that is a symlink or a file: nothing below it is read, and the
// finding names it.
TEST_F(WalkerTest, SymlinkedFoldersOnTheWayAreNotFollowed) {
  Image img = s.add_image("app", "v1", {"l"});
  const std::string revisions = at(layout::repo_dir("app") + "/_manifests/revisions");
  const std::string index = at(layout::tag_dir("app", "v1") + "/index");
  // Keep the nodes below (what a followed link would find) but make the folders links.
  s.fs.add_node(revisions, FileType::Symlink);
  s.fs.add_node(index, FileType::Symlink);
  s.fs.add_file(at(layout::repo_dir("app") + "/_layers"), "a file");
  InstrumentedFileSystem fs(s.fs);
  Model m = walk_on(fs, s.root, {});
  EXPECT_EQ(fs.reads_of(at(layout::revision_link("app", img.manifest))), 0);
  const storage::Repository& repo = m.repositories[0];
  EXPECT_TRUE(repo.revisions.empty());
  EXPECT_TRUE(repo.tags[0].history.empty());
  EXPECT_TRUE(repo.layers.empty());
  EXPECT_EQ(severity_at(m, revisions), storage::Severity::Error);
  EXPECT_EQ(severity_at(m, index), storage::Severity::Error);
  EXPECT_EQ(severity_at(m, at(layout::repo_dir("app") + "/_layers")), storage::Severity::Error);
}

// The folders the whole walk needs: without them every blob would look unreferenced (or
// every reference dangling) and a gc would act on that. The walk refuses, naming the path.
TEST_F(WalkerTest, StructuralFoldersThatAreNotFoldersStopTheWalk) {
  for (const std::string rel : {"docker/registry/v2/blobs", "docker/registry/v2/repositories",
                                "docker/registry/v2/blobs/sha256", "docker/registry/v2", "docker/registry"}) {
    for (FileType type : {FileType::Symlink, FileType::Regular, FileType::Other}) {
      FakeStore t;
      t.add_image("app", "v1", {"l"});
      t.fs.remove(t.at(rel));
      t.fs.add_node(t.at(rel), type);
      try {
        walk_on(t.fs, t.root, {});
        ADD_FAILURE() << rel << ": no exception";
      } catch (const Error& e) {
        EXPECT_EQ(e.path(), t.at(rel)) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a folder"), std::string::npos) << e.what();
      }
    }
  }
  // Absent blobs/ or repositories/ is a registry that never stored one: fine.
  FakeStore empty;
  empty.fs.remove(empty.at(layout::v2("blobs")));
  empty.fs.remove(empty.at(layout::v2("repositories")));
  EXPECT_NO_THROW(walk_on(empty.fs, empty.root, {}));
}

// Blob data that is not a regular file: a FIFO or a symlink is something the registry stats
// as a blob, so it is present (and never opened); a folder named data is not a blob.
TEST_F(WalkerTest, NonRegularBlobData) {
  Image img = s.add_image("app", "v1", {"fifo", "folder"});
  const std::string fifo = at(layout::blob_data(img.layers[0]));
  const std::string folder = at(layout::blob_data(img.layers[1]));
  s.fs.remove(fifo);
  s.fs.add_node(fifo, FileType::Other);
  s.fs.remove(folder);
  s.fs.add_dir(folder);
  const std::string manifest = at(layout::blob_data(img.manifest));
  s.fs.remove(manifest);
  s.fs.add_node(manifest, FileType::Other);
  Model m = s.walk();
  EXPECT_TRUE(m.blob_present(img.layers[0]));
  EXPECT_FALSE(m.blob_present(img.layers[1]));
  EXPECT_TRUE(m.blob_present(img.manifest));
  EXPECT_EQ(severity_at(m, fifo), storage::Severity::Error);
  EXPECT_EQ(severity_at(m, folder), storage::Severity::Error);
  // The manifest is a FIFO: unreadable (an error naming it), not "missing".
  EXPECT_EQ(finding_lines(m), (Lines{line(FindingKind::UnexpectedFile, fifo), line(FindingKind::UnexpectedFile, folder),
                                     line(FindingKind::UnexpectedFile, manifest)}));
  EXPECT_EQ(s.fs.files_read().count(manifest), 0u);
}

// A manifest over the registry's 4 MiB: reported, and still parsed, so that a blob only it
// references is not taken for garbage.
TEST_F(WalkerTest, ManifestTooLargeStillKnowsWhatItReferences) {
  Digest config = s.add_blob("{\"config\":\"only the big manifest references me\"}");
  json doc = {{"schemaVersion", 2},
              {"mediaType", media_type::kOciManifest},
              {"config", {{"mediaType", kOciConfigType}, {"digest", config.str()}, {"size", 10}}},
              {"layers", json::array()},
              {"annotations", {{"padding", std::string(storage::kMaxManifestBytes, 'x')}}}};
  Digest d = s.add_blob(doc.dump());
  s.add_revision("app", d);
  s.set_tag("app", "big", d);
  Model m = s.walk();
  EXPECT_EQ(finding_lines(m), Lines{line(FindingKind::ManifestTooLarge, at(layout::blob_data(d)))});
  const storage::ManifestRecord* rec = m.find_manifest(d);
  ASSERT_NE(rec, nullptr);
  ASSERT_TRUE(rec->readable);
  ASSERT_TRUE(rec->parsed.config);
  EXPECT_EQ(rec->parsed.config->digest, config);
}

}  // namespace

// --- RealFileSystem: no symlink is followed in any component -------------------------------

class RealFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/regsweep-realfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top = tmpl;
    root = top + "/root";
    outside = top + "/outside";
    std::filesystem::create_directories(root + "/docker/registry/v2/blobs/sha256");
    std::filesystem::create_directories(root + "/docker/registry/v2/repositories/app/_manifests/tags/v1");
    std::filesystem::create_directories(outside + "/current");
    write(outside + "/current/link", "sha256:" + std::string(64, 'a'));
    write(outside + "/file", "outside");
    std::filesystem::create_symlink(outside + "/current", root + "/docker/registry/v2/repositories/app/_manifests/tags/v1/current");
    std::filesystem::create_symlink(outside, root + "/out");
    ::mkfifo((root + "/fifo").c_str(), 0644);
  }
  void TearDown() override { std::filesystem::remove_all(top); }

  static void write(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }
  static std::string read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  // Everything below outside/, with contents: must never change.
  std::map<std::string, std::string> outside_tree() const {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(outside))
      out[e.path().string()] = e.is_regular_file() ? read(e.path().string()) : "<dir>";
    return out;
  }

  std::string top, root, outside;
  storage::RealFileSystem fs;
};

TEST_F(RealFileSystemTest, ReadsStopAtASymlinkOnTheWay) {
  auto dir = fs.open_root(root);
  ASSERT_TRUE(dir);
  std::string out = "unchanged";
  storage::ReadResult r = dir->read_file("out/file", 4096, out);
  EXPECT_EQ(r.status, storage::ReadStatus::NotRegular);
  EXPECT_TRUE(out.empty());
  r = dir->read_file("docker/registry/v2/repositories/app/_manifests/tags/v1/current/link", 4096, out);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(dir->stat("out").type, FileType::Symlink);
  EXPECT_EQ(dir->open_dir("out"), nullptr);
  EXPECT_EQ(dir->open_dir("docker/registry/v2/repositories/app/_manifests/tags/v1/current"), nullptr);
  ASSERT_NE(dir->open_dir("docker/registry/v2/repositories/app"), nullptr);
  // A FIFO is never opened for reading: no hang.
  r = dir->read_file("fifo", 4096, out);
  EXPECT_EQ(r.status, storage::ReadStatus::NotRegular);
}

TEST_F(RealFileSystemTest, WritesStopAtASymlinkOnTheWay) {
  auto before = outside_tree();
  auto dir = fs.open_root(root);
  ASSERT_TRUE(dir);
  EXPECT_THROW(dir->make_dirs("out/new/folder"), Error);
  EXPECT_THROW(dir->write_file("out/written", "x"), Error);
  EXPECT_THROW(dir->append("out/appended", "x"), Error);
  EXPECT_THROW(dir->lock("out/lock", false), Error);
  EXPECT_THROW(dir->rename("out/file", "moved"), Error);
  EXPECT_THROW(dir->remove_tree("out/current"), Error);
  EXPECT_THROW(dir->remove_empty_dir("out/current"), Error);
  EXPECT_EQ(dir->device_of("out/file"), 0u);
  EXPECT_EQ(outside_tree(), before);
  // The link itself is an entry of the root like any other: it can be moved or removed.
  dir->make_dirs(".regsweep/trash");
  dir->rename("out", ".regsweep/trash/out");
  dir->remove_tree(".regsweep/trash/out");
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(root + "/.regsweep/trash/out")));
  EXPECT_EQ(outside_tree(), before);
}

TEST_F(RealFileSystemTest, WalkRefusesASymlinkedBlobsFolderAndReadsNothingThrough) {
  std::filesystem::create_directories(outside + "/blobs/sha256");
  std::filesystem::remove_all(root + "/docker/registry/v2/blobs");
  std::filesystem::create_symlink(outside + "/blobs", root + "/docker/registry/v2/blobs");
  try {
    walk_on(fs, root, {});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), root + "/docker/registry/v2/blobs");
  }
  // With blobs/ a folder again, the symlinked current/ is a finding, and its link unread.
  std::filesystem::remove(root + "/docker/registry/v2/blobs");
  std::filesystem::create_directories(root + "/docker/registry/v2/blobs/sha256");
  Model m = walk_on(fs, root, {});
  ASSERT_EQ(m.repositories.size(), 1u);
  ASSERT_EQ(m.repositories[0].tags.size(), 1u);
  EXPECT_FALSE(m.repositories[0].tags[0].current);
  EXPECT_EQ(severity_at(m, root + "/docker/registry/v2/repositories/app/_manifests/tags/v1/current"), storage::Severity::Error);
}

}  // namespace regsweep::test

namespace regsweep::test {
namespace {

// Lookups by digest guess the position from the value: every digest is found, and none that
// is absent, whether the digests are spread as SHA-256 spreads them or bunched together
// (made-up folder names in a hostile store), at every size.
TEST(ModelLookup, EveryDigestIsFoundAndNoOtherSpreadOrBunched) {
  for (bool bunched : {false, true}) {
    for (std::size_t n : {0u, 1u, 2u, 9u, 100u, 5000u}) {
      Model model;
      std::vector<Digest> absent;
      for (std::size_t i = 0; i < 2 * n + 3; ++i) {
        Digest d = util::sha256("blob " + std::to_string(i));
        if (bunched) std::fill(d.bytes.begin(), d.bytes.begin() + 24, 0);
        if (i % 2 == 0 && model.blobs.size() < n)
          model.blobs.push_back(storage::BlobRecord{d, i, true, 0});
        else
          absent.push_back(d);
      }
      std::sort(model.blobs.begin(), model.blobs.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
      for (std::size_t i = 0; i < model.blobs.size(); ++i)
        EXPECT_EQ(model.blob_index(model.blobs[i].digest), static_cast<std::int64_t>(i)) << "n=" << n << " bunched=" << bunched;
      for (const Digest& d : absent) EXPECT_EQ(model.find_blob(d), nullptr) << d.hex();
    }
  }
}

}  // namespace
}  // namespace regsweep::test
