// plan/reachability: what `registry garbage-collect` marks, and what regsweep's tag-rooted
// mark keeps, on trees built in a FakeFileSystem.
#include <gtest/gtest.h>

#include "fake_store.h"
#include "regsweep/plan/reachability.h"

namespace regsweep::test {
namespace {

using plan::BlobMark;
using plan::TaggedMark;
using storage::Model;

// The digests of the marked blobs.
std::set<std::string> marked(const Model& m, const BlobMark& mark) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < m.blobs.size(); ++i)
    if (mark.marked(i)) out.insert(m.blobs[i].digest.str());
  return out;
}

// Whether the tagged mark keeps `digest`'s revision in `repo`.
bool kept(const Model& m, const TaggedMark& t, const std::string& repo, const Digest& digest) {
  for (std::size_t r = 0; r < m.repositories.size(); ++r) {
    if (m.repositories[r].name != repo) continue;
    const auto& revs = m.repositories[r].revisions;
    for (std::size_t i = 0; i < revs.size(); ++i)
      if (revs[i].digest == digest) return t.revision_kept[r][i];
  }
  ADD_FAILURE() << repo << " has no revision " << digest.str();
  return false;
}

// --- BlobMark ---------------------------------------------------------------------------------

TEST(BlobMark, MarkTouchedReset) {
  FakeStore s;
  Digest a = s.add_blob("a"), b = s.add_blob("b"), c = s.add_blob("c");
  Model m = s.walk();
  BlobMark mark(m);
  EXPECT_EQ(mark.size(), 3u);
  EXPECT_TRUE(mark.mark(c));
  EXPECT_TRUE(mark.mark(a));
  EXPECT_FALSE(mark.mark(a));                          // already marked
  EXPECT_FALSE(mark.mark(util::sha256("not here")));   // not in the model
  EXPECT_TRUE(mark.marked(a));
  EXPECT_FALSE(mark.marked(b));
  EXPECT_TRUE(mark.marked(static_cast<std::size_t>(m.blob_index(c))));
  ASSERT_EQ(mark.touched().size(), 2u);
  EXPECT_EQ(mark.touched()[0], m.blob_index(c));  // in marking order
  EXPECT_EQ(mark.touched()[1], m.blob_index(a));
  mark.reset();
  EXPECT_FALSE(mark.marked(a));
  EXPECT_FALSE(mark.marked(c));
  EXPECT_TRUE(mark.touched().empty());
  EXPECT_TRUE(mark.mark(a));
}

// --- registry_gc_mark ----------------------------------------------------------------------------

TEST(RegistryGcMark, RevisionsAndTheirDirectReferences) {
  FakeStore s;
  Image x = s.add_image("app", "v1", {"x1", "x2"});
  Image untagged = s.put_image("untagged", {"u1"});
  s.link_image("app", untagged);                 // a revision without a tag: still marked without -m
  Image c1 = s.put_image("child one", {"c1 layer"});
  Image c2 = s.put_image("child two", {"c2 layer"});
  s.link_image("app", c1);                       // c2 has no revision in any repository
  Digest index = s.put_index({c1.manifest, c2.manifest});
  s.add_revision("app", index);
  s.set_tag("app", "multi", index);
  Digest orphan = s.add_blob("nobody references me");
  Model m = s.walk();

  BlobMark mark = plan::registry_gc_mark(m);
  std::vector<Digest> expected = image_blobs(x) + image_blobs(untagged) + image_blobs(c1);
  expected.push_back(index);
  expected.push_back(c2.manifest);  // the index's direct reference, but not what c2 references
  EXPECT_EQ(marked(m, mark), strs(expected));
  EXPECT_FALSE(mark.marked(c2.config));
  EXPECT_FALSE(mark.marked(c2.layers[0]));
  EXPECT_FALSE(mark.marked(orphan));
}

TEST(RegistryGcMark, GrandchildrenOfAnIndexAreNotMarked) {
  FakeStore s;
  Image leaf = s.put_image("leaf", {"leaf layer"});
  Digest inner = s.put_index({leaf.manifest});
  Digest outer = s.put_index({inner});
  s.add_revision("app", outer);
  s.set_tag("app", "v1", outer);
  s.fs.add_dir(s.at(layout::repo_dir("app") + "/_layers"));  // how the registry finds a repository
  Model m = s.walk();
  EXPECT_EQ(marked(m, plan::registry_gc_mark(m)), strs({outer, inner}));
}

TEST(RegistryGcMark, RepositoryWithoutLayersFolderIsInvisibleToTheRegistry) {
  // The registry enumerates repositories by their _layers folder (catalog.go); a repository
  // with only _manifests is skipped by its GC, so what it references is garbage to it.
  FakeStore s;
  Digest index = s.put_index({});
  s.add_revision("app", index);
  Model m = s.walk();
  EXPECT_EQ(marked(m, plan::registry_gc_mark(m)), strs({}));
}

TEST(RegistryGcMark, RevisionWithMissingBlobIsSkipped) {
  FakeStore s;
  Image ok = s.add_image("app", "v1", {"ok layer"});
  Image broken = s.add_image("app", "v2", {"broken layer"});
  // The manifest's folder stays, its data is gone: the registry skips the revision silently.
  s.fs.remove(s.at(layout::blob_data(broken.manifest)));
  Model m = s.walk();
  ASSERT_NE(m.find_blob(broken.manifest), nullptr);
  BlobMark mark = plan::registry_gc_mark(m);
  EXPECT_EQ(marked(m, mark), strs(image_blobs(ok)));
  EXPECT_FALSE(mark.marked(broken.manifest));
  EXPECT_FALSE(mark.marked(broken.config));
}

TEST(RegistryGcMark, UnparsableManifestMarksOnlyItself) {
  FakeStore s;
  Digest junk = s.add_blob("not a manifest");
  s.add_blob("other");
  s.add_revision("app", junk);
  s.fs.add_dir(s.at(layout::repo_dir("app") + "/_layers"));
  Model m = s.walk();
  EXPECT_EQ(marked(m, plan::registry_gc_mark(m)), strs({junk}));
}

TEST(RegistryGcMark, MismatchedRevisionLinkCountsOnlyWhenItsTargetIsARevision) {
  // distribution's linkedBlobStore.Enumerate reads a revision link's content Y, then Stats
  // revisions/Y/link; when that is absent (ErrBlobUnknown) the link is skipped, so the GC
  // marks nothing for it.
  FakeStore s;
  Image kept = s.add_image("app", "v1", {"kept layer"});
  Image target = s.put_image("only named by a wrong link", {"target layer"});
  s.add_link(layout::revision_link("app", util::sha256("the folder's own digest")), target.manifest);
  Model m = s.walk();
  BlobMark mark = plan::registry_gc_mark(m);
  EXPECT_TRUE(mark.marked(kept.layers[0]));
  EXPECT_FALSE(mark.marked(target.manifest));
  EXPECT_EQ(marked(m, mark), strs(image_blobs(kept)));
}

TEST(RegistryGcMark, MismatchedRevisionLinkToAnotherRevision) {
  // When Y has its own revision folder the registry marks Y (twice): so must we.
  FakeStore s;
  Image img = s.add_image("app", "v1", {"layer"});
  s.add_link(layout::revision_link("app", util::sha256("another folder")), img.manifest);
  Model m = s.walk();
  EXPECT_EQ(marked(m, plan::registry_gc_mark(m)), strs(image_blobs(img)));
}

TEST(RegistryGcMark, EveryRepositoryCounts) {
  FakeStore s;
  Image a = s.add_image("a", "v1", {"a layer"});
  Image b = s.add_image("team/b", "v1", {"b layer"});
  Model m = s.walk();
  EXPECT_EQ(marked(m, plan::registry_gc_mark(m)), strs(image_blobs(a) + image_blobs(b)));
}

// --- tagged_mark -------------------------------------------------------------------------------

TEST(TaggedMark, KeepsIndexChildrenRecursively) {
  FakeStore s;
  Image amd = s.put_image("amd64", {"amd64 layer"});
  Image arm = s.put_image("arm64", {"arm64 layer"});
  s.link_image("app", amd);
  s.link_image("app", arm);
  Digest inner = s.put_index({arm.manifest});
  Digest outer = s.put_index({amd.manifest, inner});
  s.add_revision("app", inner);
  s.add_revision("app", outer);
  s.set_tag("app", "v1", outer);
  Model m = s.walk();

  TaggedMark t = plan::tagged_mark(m);
  EXPECT_TRUE(kept(m, t, "app", outer));
  EXPECT_TRUE(kept(m, t, "app", inner));
  EXPECT_TRUE(kept(m, t, "app", amd.manifest));
  EXPECT_TRUE(kept(m, t, "app", arm.manifest));
  EXPECT_EQ(marked(m, t.blobs), strs(std::vector<Digest>{outer, inner} + image_blobs(amd) + image_blobs(arm)));
}

TEST(TaggedMark, KeepsReferrersAndReferrersOfReferrers) {
  FakeStore s;
  Image x = s.add_image("app", "v1", {"x layer"});
  Image sig = s.add_referrer("app", x.manifest, "application/vnd.example.signature", {"signature of x"});
  Image sig_sig = s.add_referrer("app", sig.manifest, "application/vnd.example.signature", {"signature of sig"});
  Image old = s.put_image("old", {"old layer"});
  s.link_image("app", old);  // untagged
  Image old_sbom = s.add_referrer("app", old.manifest, "application/spdx+json", {"sbom of old"});
  Model m = s.walk();

  TaggedMark t = plan::tagged_mark(m);
  EXPECT_TRUE(kept(m, t, "app", x.manifest));
  EXPECT_TRUE(kept(m, t, "app", sig.manifest));
  EXPECT_TRUE(kept(m, t, "app", sig_sig.manifest));
  EXPECT_FALSE(kept(m, t, "app", old.manifest));
  EXPECT_FALSE(kept(m, t, "app", old_sbom.manifest));
  // sig and sig_sig share the empty config "{}".
  EXPECT_EQ(marked(m, t.blobs), strs(image_blobs(x) + image_blobs(sig) + image_blobs(sig_sig)));
  EXPECT_FALSE(t.blobs.marked(old_sbom.layers[0]));
}

TEST(TaggedMark, KeepsReferrerOfAnIndexChild) {
  FakeStore s;
  Image amd = s.put_image("amd64", {"amd64 layer"});
  Digest index = s.add_index("app", "v1", {amd});
  Image sig = s.add_referrer("app", amd.manifest, "application/vnd.example.signature", {"platform signature"});
  Model m = s.walk();
  TaggedMark t = plan::tagged_mark(m);
  EXPECT_TRUE(kept(m, t, "app", index));
  EXPECT_TRUE(kept(m, t, "app", amd.manifest));
  EXPECT_TRUE(kept(m, t, "app", sig.manifest));
  EXPECT_TRUE(t.blobs.marked(sig.layers[0]));
}

TEST(TaggedMark, UntaggedOldRevisionIsNotKept) {
  FakeStore s;
  Image old_img = s.add_image("app", "v1", {"shared base", "old top"});
  Image new_img = s.put_image("app:v1 again", {"shared base", "new top"});
  s.link_image("app", new_img);
  s.set_tag("app", "v1", new_img.manifest);  // the tag moves; the old revision stays
  Model m = s.walk();

  TaggedMark t = plan::tagged_mark(m);
  EXPECT_TRUE(kept(m, t, "app", new_img.manifest));
  EXPECT_FALSE(kept(m, t, "app", old_img.manifest));
  EXPECT_EQ(marked(m, t.blobs), strs(image_blobs(new_img)));
  EXPECT_TRUE(t.blobs.marked(old_img.layers[0]));   // the shared base
  EXPECT_FALSE(t.blobs.marked(old_img.layers[1]));  // old top
  EXPECT_FALSE(t.blobs.marked(old_img.manifest));
  // The registry's own mark still keeps the old revision.
  EXPECT_TRUE(plan::registry_gc_mark(m).marked(old_img.layers[1]));
}

TEST(TaggedMark, TaggedInOneRepositoryOnlyUntaggedInAnother) {
  FakeStore s;
  Image img = s.put_image("shared", {"shared layer"});
  s.link_image("a", img);
  s.set_tag("a", "v1", img.manifest);
  s.link_image("b", img);  // same digest, no tag in b
  Model m = s.walk();
  ASSERT_EQ(m.repositories.size(), 2u);

  TaggedMark t = plan::tagged_mark(m);
  ASSERT_EQ(t.revision_kept.size(), 2u);
  EXPECT_TRUE(kept(m, t, "a", img.manifest));
  EXPECT_FALSE(kept(m, t, "b", img.manifest));
  EXPECT_EQ(marked(m, t.blobs), strs(image_blobs(img)));
}

TEST(TaggedMark, EveryTagCounts) {
  FakeStore s;
  Image v1 = s.add_image("app", "v1", {"one"});
  Image v2 = s.add_image("app", "v2", {"two"});
  Image other = s.add_image("other/app", "latest", {"three"});
  Model m = s.walk();
  TaggedMark t = plan::tagged_mark(m);
  EXPECT_EQ(marked(m, t.blobs), strs(image_blobs(v1) + image_blobs(v2) + image_blobs(other)));
  EXPECT_EQ(t.revision_kept, (std::vector<std::vector<bool>>{{true, true}, {true}}));
}

TEST(TaggedMark, TagWithoutCurrentKeepsNothing) {
  FakeStore s;
  Image img = s.add_image("app", "v1", {"l"});
  s.fs.remove(s.at(layout::tag_dir("app", "v1") + "/current"));
  Model m = s.walk();
  TaggedMark t = plan::tagged_mark(m);
  EXPECT_FALSE(kept(m, t, "app", img.manifest));
  EXPECT_EQ(marked(m, t.blobs), std::set<std::string>{});
}

TEST(TaggedMark, IndexThatContainsItselfTerminates) {
  FakeStore s;
  Digest self = util::sha256("claimed digest");
  Image child = s.put_image("child", {"child layer"});
  s.link_image("app", child);
  json doc{{"schemaVersion", 2},
           {"mediaType", media_type::kOciIndex},
           {"manifests", {s.descriptor(media_type::kOciIndex, self), s.descriptor(media_type::kOciManifest, child.manifest)}}};
  s.add_blob_at(self, doc.dump());
  s.add_revision("app", self);
  s.set_tag("app", "loop", self);
  Model m = s.walk();
  TaggedMark t = plan::tagged_mark(m);
  EXPECT_TRUE(kept(m, t, "app", self));
  EXPECT_TRUE(kept(m, t, "app", child.manifest));
  EXPECT_EQ(marked(m, t.blobs), strs(std::vector<Digest>{self} + image_blobs(child)));

  BlobMark closure(m);
  plan::mark_manifest_closure(m, self, closure);
  EXPECT_EQ(marked(m, closure), strs(std::vector<Digest>{self} + image_blobs(child)));
}

TEST(MarkManifestClosure, MarksTheManifestAndEverythingBelow) {
  FakeStore s;
  Image amd = s.put_image("amd64", {"amd64 layer", "common"});
  Image arm = s.put_image("arm64", {"arm64 layer", "common"});
  Digest index = s.put_index({amd.manifest, arm.manifest});
  Image unrelated = s.put_image("unrelated", {"unrelated layer"});
  s.add_revision("app", index);
  s.link_image("app", unrelated);
  Model m = s.walk();
  BlobMark mark(m);
  plan::mark_manifest_closure(m, index, mark);
  EXPECT_EQ(marked(m, mark), strs(std::vector<Digest>{index} + image_blobs(amd) + image_blobs(arm)));
  // An image manifest: itself, config, layers.
  mark.reset();
  plan::mark_manifest_closure(m, unrelated.manifest, mark);
  EXPECT_EQ(marked(m, mark), strs(image_blobs(unrelated)));
}

}  // namespace
}  // namespace regsweep::test
