// plan/fsck + storage/verify on the fake tree: every check, its consequence for tags and
// platforms, and the repair plan (only what cannot lose an intact image).
#include <gtest/gtest.h>

#include <algorithm>

#include "fake_store.h"
#include "regsweep/error.h"
#include "regsweep/plan/fsck.h"
#include "regsweep/storage/verify.h"

namespace regsweep::test {
namespace {

using plan::ActionKind;
using plan::FsckReport;
using storage::FindingKind;

constexpr std::int64_t kFsckNow = 1'800'000'000LL * 1'000'000'000;

FsckReport fsck(FakeStore& s, const storage::VerifyResult* verified = nullptr, std::vector<std::string> repos = {}) {
  plan::FsckOptions o;
  o.now_ns = kFsckNow;
  o.verified = verified;
  o.repositories = std::move(repos);
  return plan::check_storage(s.walk(), o);
}

const plan::TagHealth& tag(const FsckReport& r, const std::string& repo, const std::string& name) {
  auto it = std::find_if(r.tags.begin(), r.tags.end(), [&](const auto& t) { return t.repository == repo && t.tag == name; });
  if (it == r.tags.end()) throw std::runtime_error("no tag " + repo + ":" + name);
  return *it;
}

std::vector<std::string> kinds(const FsckReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.emplace_back(storage::to_string(p.kind));
  return out;
}

const plan::Problem& problem(const FsckReport& r, FindingKind kind) {
  auto it = std::find_if(r.problems.begin(), r.problems.end(), [&](const auto& p) { return p.kind == kind; });
  if (it == r.problems.end()) throw std::runtime_error("no problem " + std::string(storage::to_string(kind)));
  return *it;
}

TEST(Fsck, CleanStoreIsClean) {
  FakeStore s;
  s.add_image("app", "v1", {"a", "b"});
  Image arm = s.put_image("arm", {"c"}), amd = s.put_image("amd", {"d"});
  s.add_index("multi", "latest", {amd, arm});
  FsckReport r = fsck(s);
  EXPECT_TRUE(r.clean()) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(r.tags.size(), 2u);
  EXPECT_EQ(r.broken_tags(), 0u);
  EXPECT_TRUE(r.repair.actions.empty());
}

TEST(Fsck, MissingLayerBreaksTheTagThatNeedsIt) {
  FakeStore s;
  Image a = s.add_image("app", "v1", {"a", "shared"});
  s.add_image("app", "v2", {"other"});
  s.fs.remove(s.at(layout::blob_data(a.layers[1])));
  FsckReport r = fsck(s);
  EXPECT_FALSE(r.clean());
  EXPECT_FALSE(tag(r, "app", "v1").intact);
  EXPECT_TRUE(tag(r, "app", "v2").intact);
  const auto& p = problem(r, FindingKind::ManifestMissingReference);
  EXPECT_EQ(p.breaks, std::vector<std::string>{"app:v1"});
  // its _layers link now dangles: the repair removes it (and nothing else)
  ASSERT_EQ(r.repair.actions.size(), 1u);
  EXPECT_EQ(r.repair.actions[0].kind, ActionKind::RemoveLayerLink);
  EXPECT_EQ(r.repair.actions[0].storage_key(), layout::layer_dir("app", a.layers[1]));
  EXPECT_EQ(r.repair.actions[0].expect, plan::Expect::BlobMissing);
  EXPECT_EQ(r.repair.actions[0].repository, "app");
}

TEST(Fsck, MissingLayerLinkBreaksThePull) {
  FakeStore s;
  Image a = s.add_image("app", "v1", {"a"});
  s.fs.remove(s.at(layout::layer_link("app", a.layers[0])));
  FsckReport r = fsck(s);
  EXPECT_FALSE(tag(r, "app", "v1").intact);
  EXPECT_EQ(problem(r, FindingKind::LayerLinkMissing).path, s.at(layout::layer_link("app", a.layers[0])));
  EXPECT_TRUE(r.repair.actions.empty());  // nothing safe to do: re-push, or rm
}

TEST(Fsck, IndexNamesTheBrokenPlatformOnly) {
  FakeStore s;
  Image amd = s.put_image("amd", {"amd-layer"}), arm = s.put_image("arm", {"arm-layer"});
  s.add_index("multi", "latest", {amd, arm});
  s.fs.remove(s.at(layout::blob_data(arm.layers[0])));
  FsckReport r = fsck(s);
  const auto& t = tag(r, "multi", "latest");
  EXPECT_FALSE(t.intact);
  EXPECT_EQ(t.broken_platforms, std::vector<std::string>{"linux/arm64/v8"});
  EXPECT_EQ(problem(r, FindingKind::ManifestMissingReference).breaks, std::vector<std::string>{"multi:latest (linux/arm64/v8)"});
}

TEST(Fsck, ChildWithoutRevision) {
  FakeStore s;
  Image amd = s.put_image("amd", {"x"}), arm = s.put_image("arm", {"y"});
  s.add_index("multi", "latest", {amd, arm});
  s.fs.remove(s.at(layout::revision_link("multi", amd.manifest)));
  FsckReport r = fsck(s);
  EXPECT_EQ(tag(r, "multi", "latest").broken_platforms, std::vector<std::string>{"linux/amd64"});
  EXPECT_EQ(problem(r, FindingKind::ChildRevisionMissing).path, s.at(layout::revision_link("multi", amd.manifest)));
}

TEST(Fsck, IndexCycleIsFoundAndDoesNotHang) {
  FakeStore s;
  Image a = s.put_image("a", {"x"});
  s.link_image("loop", a);
  // Two indexes that contain each other: the digests must be known before the content, so
  // write each under a chosen digest (the content does not hash to it: also a finding).
  Digest i1 = *Digest::from_hex(std::string(64, '1')), i2 = *Digest::from_hex(std::string(64, '2'));
  auto index_of = [&](const Digest& child) {
    return json{{"schemaVersion", 2},
                {"mediaType", storage::media_type::kOciIndex},
                {"manifests", json::array({s.descriptor(storage::media_type::kOciManifest, a.manifest),
                                           json{{"mediaType", storage::media_type::kOciIndex}, {"digest", child.str()}, {"size", 10}}})}}
        .dump();
  };
  s.add_blob_at(i1, index_of(i2));
  s.add_blob_at(i2, index_of(i1));
  s.add_revision("loop", i1);
  s.add_revision("loop", i2);
  s.set_tag("loop", "v1", i1);
  FsckReport r = fsck(s);
  EXPECT_FALSE(tag(r, "loop", "v1").intact);
  EXPECT_NO_THROW(problem(r, FindingKind::ManifestCycle));
}

TEST(Fsck, SizeMismatchAndSubjectMissing) {
  FakeStore s;
  Image a = s.add_image("app", "v1", {"layer"});
  // the layer's data replaced by longer content under the same digest
  s.add_blob_at(a.layers[0], "layer and more");
  Image sig = s.add_referrer("app", *Digest::from_hex(std::string(64, 'e')), "application/example", {"sig"});
  FsckReport r = fsck(s);
  EXPECT_FALSE(tag(r, "app", "v1").intact);
  EXPECT_EQ(problem(r, FindingKind::BlobSizeMismatch).path, s.at(layout::blob_data(a.layers[0])));
  // the referrer is untagged: its missing subject is reported, breaking no tag
  EXPECT_TRUE(problem(r, FindingKind::SubjectMissing).breaks.empty());
  EXPECT_EQ(problem(r, FindingKind::SubjectMissing).path, s.at(layout::blob_data(sig.manifest)));
}

TEST(Fsck, VerifyFindsAFlippedByteAndTheRepairSetsItAside) {
  FakeStore s;
  Image a = s.add_image("app", "v1", {"layer-content"});
  s.add_image("app", "v2", {"other"});
  s.add_blob_at(a.layers[0], "layer-contenT");  // same size, different bytes
  storage::Model m = s.walk();
  storage::VerifyResult v = storage::verify_blobs(s.store(), m, 2, util::no_progress());
  ASSERT_EQ(v.corrupt.size(), 1u);
  EXPECT_EQ(v.corrupt[0].digest, a.layers[0]);
  EXPECT_EQ(v.corrupt[0].actual, util::sha256("layer-contenT"));
  EXPECT_EQ(v.files, m.blobs.size());

  FsckReport r = fsck(s, &v);
  EXPECT_FALSE(tag(r, "app", "v1").intact);
  EXPECT_TRUE(tag(r, "app", "v2").intact);
  EXPECT_EQ(problem(r, FindingKind::BlobDigestMismatch).breaks, std::vector<std::string>{"app:v1"});
  ASSERT_EQ(r.repair.actions.size(), 1u);
  EXPECT_EQ(r.repair.actions[0].kind, ActionKind::RemoveBlob);
  EXPECT_EQ(r.repair.actions[0].storage_key(), layout::blob_dir(a.layers[0]));
  EXPECT_TRUE(r.repair.trash_blobs);  // set aside, never deleted
}

TEST(Fsck, BadLinkFilesAreRemovedButNeverATagOrRevision) {
  FakeStore s;
  Image a = s.add_image("app", "v1", {"a"});
  s.add_image("app", "v2", {"b"});
  s.fs.add_file(s.at(layout::tag_current_link("app", "v1")), "", 0);        // empty
  s.fs.add_file(s.at(layout::revision_link("app", a.manifest)), "garbage", 0);
  FsckReport r = fsck(s);
  EXPECT_FALSE(tag(r, "app", "v1").intact);
  std::vector<std::string> paths;
  for (const auto& act : r.repair.actions) {
    EXPECT_EQ(act.kind, ActionKind::RemoveLinkFile);
    paths.push_back(act.storage_key());
  }
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{layout::revision_link("app", a.manifest), layout::tag_current_link("app", "v1")}));
}

TEST(Fsck, OldUploadWithoutStartedAtAndOldTempFileGoYoungOnesStay) {
  FakeStore s;
  s.add_image("app", "v1", {"a"});
  s.add_upload("app", "old", std::nullopt, "xx", kFsckNow - 200 * kHour);
  s.add_upload("app", "young", std::nullopt, "yy", kFsckNow - 1 * kHour);
  FsckReport r = fsck(s);
  ASSERT_EQ(r.repair.actions.size(), 1u);
  EXPECT_EQ(r.repair.actions[0].kind, ActionKind::RemoveUpload);
  EXPECT_EQ(r.repair.actions[0].storage_key(), layout::upload_dir("app", "old"));
  EXPECT_FALSE(r.clean());  // an upload nothing will ever purge is a problem

  plan::FsckOptions o;
  o.now_ns = kFsckNow;
  s.fs.add_file(s.at(layout::v2("blobs/sha256/ab/x.tmp")), "t", 0);
  storage::Model m = s.walk();
  o.temp_file_mtimes[layout::v2("blobs/sha256/ab/x.tmp")] = kFsckNow - 200 * kHour;  // by key
  FsckReport t = plan::check_storage(m, o);
  EXPECT_EQ(problem(t, FindingKind::TempFile).path, s.at(layout::v2("blobs/sha256/ab/x.tmp")));
  EXPECT_TRUE(std::any_of(t.repair.actions.begin(), t.repair.actions.end(),
                          [](const auto& a) { return a.kind == ActionKind::RemoveTempFile; }));
}

TEST(Fsck, RepositoryFilter) {
  FakeStore s;
  Image a = s.add_image("one", "v1", {"a"});
  Image b = s.add_image("two", "v1", {"b"});
  s.fs.remove(s.at(layout::blob_data(b.layers[0])));
  FsckReport only_one = fsck(s, nullptr, {"one"});
  EXPECT_TRUE(only_one.clean()) << ::testing::PrintToString(kinds(only_one));
  EXPECT_EQ(only_one.tags.size(), 1u);
  FsckReport only_two = fsck(s, nullptr, {"two"});
  EXPECT_FALSE(only_two.clean());
  EXPECT_THROW(fsck(s, nullptr, {"three"}), regsweep::Error);
  (void)a;
}

}  // namespace
}  // namespace regsweep::test
