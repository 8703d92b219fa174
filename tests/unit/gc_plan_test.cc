// plan/gc: regsweep's mark & sweep (plain, and -m/--delete-untagged that keeps multi-arch
// children and referrers), --min-age, layer links, uploads, empty repositories, and the
// re-walk check links_appeared().
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "fake_store.h"
#include "regsweep/apply/session.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/registry_gc.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/util/format.h"

namespace regsweep::test {
namespace {

using plan::Action;
using plan::ActionKind;
using plan::Expect;
using plan::GcPlan;
using plan::GcRequest;
using plan::Plan;
using storage::Model;
using Lines = std::multiset<std::string>;


std::string act(ActionKind kind, const std::string& path) { return std::string(plan::to_string(kind)) + " " + path; }

// "kind path" of every action (as a multiset: duplicates would show).
Lines lines(const Plan& p) {
  Lines out;
  for (const Action& a : p.actions) out.insert(act(a.kind, a.storage_key()));
  return out;
}

std::string remove_blob(const Digest& d) { return act(ActionKind::RemoveBlob, layout::blob_dir(d)); }
Lines remove_blobs(const std::vector<Digest>& ds) {
  Lines out;
  for (const Digest& d : ds) out.insert(remove_blob(d));
  return out;
}
Lines operator+(Lines a, const Lines& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// Kinds never go down: the plan is in execution order.
void expect_execution_order(const Plan& p) {
  for (std::size_t i = 1; i < p.actions.size(); ++i)
    EXPECT_LE(p.actions[i - 1].kind, p.actions[i].kind) << p.actions[i - 1].storage_key() << " before " << p.actions[i].storage_key();
}

const Action* find_action(const Plan& p, const std::string& path) {
  for (const Action& a : p.actions)
    if (a.storage_key() == path) return &a;
  return nullptr;
}

GcRequest request(bool delete_untagged) {
  GcRequest r;
  r.delete_untagged = delete_untagged;
  r.now_ns = kNow;
  return r;
}

// One repository with every case -m treats differently:
//   app:v1      tagged image `tagged`; the tag named `old` before (index/ lists both)
//   app:multi   an index of `amd` and `arm` (children: revisions without a tag)
//   `referrer`  an untagged signature of `tagged` (subject), and `countersign` of that one
//   `old`       an untagged revision (no tag names it now)
//   `orphan`    a blob nothing references
struct Store : ::testing::Test {
  FakeStore s;
  Image tagged, old, amd, arm, referrer, countersign;
  Digest index, orphan;
  void SetUp() override {
    old = s.add_image("app", "v1", {"shared layer", "old layer"});
    tagged = s.add_image("app", "v1", {"shared layer", "new layer"});
    amd = s.put_image("amd64", {"amd layer"});
    arm = s.put_image("arm64", {"arm layer"});
    index = s.add_index("app", "multi", {amd, arm});
    referrer = s.add_referrer("app", tagged.manifest, "application/vnd.dev.sigstore.bundle+json", {"signature"});
    countersign = s.add_referrer("app", referrer.manifest, "application/vnd.example.countersign", {"countersignature"});
    orphan = s.add_blob("nobody references me");
  }
};

TEST_F(Store, PlainSweepsOnlyWhatNoRevisionReaches) {
  Model m = s.walk();
  GcPlan gc = plan::plan_gc(m, request(false));
  EXPECT_EQ(gc.plan.command, "gc");
  EXPECT_EQ(lines(gc.plan), (Lines{remove_blob(orphan)}));
  const Action& blob = gc.plan.actions.at(0);
  EXPECT_EQ(blob.expect, Expect::BlobUnreferenced);
  EXPECT_EQ(blob.digest, orphan);
  EXPECT_EQ(blob.bytes, s.size_of(orphan));
  EXPECT_EQ(gc.plan.bytes(), s.size_of(orphan));
  EXPECT_EQ(gc.stats.untagged_manifests, 0u);
  EXPECT_EQ(gc.stats.blobs, 1u);
  EXPECT_EQ(gc.stats.blob_bytes, s.size_of(orphan));
}

TEST_F(Store, DeleteUntaggedRemovesTheOldRevisionButKeepsIndexChildrenAndReferrers) {
  Model m = s.walk();
  GcPlan gc = plan::plan_gc(m, request(true));
  // The old revision's folder (3.x style) and its entry in app:v1's history; its own blobs
  // (not the layer it shares with the tagged image), and the orphan.
  Lines expected = Lines{act(ActionKind::RemoveTagIndexEntry, layout::tag_index_dir("app", "v1", old.manifest)),
                         act(ActionKind::RemoveRevision, layout::revision_dir("app", old.manifest)),
                         act(ActionKind::RemoveLayerLink, layout::layer_dir("app", old.config)),
                         act(ActionKind::RemoveLayerLink, layout::layer_dir("app", old.layers[1]))} +
                   remove_blobs({old.manifest, old.config, old.layers[1], orphan});
  EXPECT_EQ(lines(gc.plan), expected);
  expect_execution_order(gc.plan);

  const Action* rev = find_action(gc.plan, layout::revision_dir("app", old.manifest));
  ASSERT_TRUE(rev);
  EXPECT_EQ(rev->expect, Expect::LinkIs);
  EXPECT_EQ(rev->check_key(), layout::revision_link("app", old.manifest));
  EXPECT_EQ(rev->digest, old.manifest);
  const Action* entry = find_action(gc.plan, layout::tag_index_dir("app", "v1", old.manifest));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->tag, "v1");
  EXPECT_EQ(entry->digest, old.manifest);

  EXPECT_EQ(gc.stats.untagged_manifests, 1u);
  EXPECT_EQ(gc.stats.blobs, 4u);
  EXPECT_EQ(gc.stats.blob_bytes, s.size_of({old.manifest, old.config, old.layers[1], orphan}));
  EXPECT_EQ(gc.stats.layer_links, 2u);  // the links to the old config and layer, swept with them
}

TEST_F(Store, DeleteUntaggedRemovesTheReferrersOfAnUntaggedManifest) {
  // Untag app:v1 by hand: `tagged` and the referrers hanging from it are untagged now.
  s.fs.remove(s.at(layout::tag_dir("app", "v1")));
  Model m = s.walk();
  GcPlan gc = plan::plan_gc(m, request(true));
  std::set<std::string> revisions;
  for (const Action& a : gc.plan.actions)
    if (a.kind == ActionKind::RemoveRevision) revisions.insert(a.storage_key());
  EXPECT_EQ(revisions, (std::set<std::string>{layout::revision_dir("app", old.manifest), layout::revision_dir("app", tagged.manifest),
                                              layout::revision_dir("app", referrer.manifest),
                                              layout::revision_dir("app", countersign.manifest)}));
  EXPECT_EQ(gc.stats.untagged_manifests, 4u);
  // The index and its children stay.
  EXPECT_FALSE(find_action(gc.plan, layout::blob_dir(amd.manifest)));
  EXPECT_FALSE(find_action(gc.plan, layout::blob_dir(index)));
}

// --- --min-age ---------------------------------------------------------------------------------

TEST(GcPlan, MinAgeKeepsYoungUnreferencedBlobs) {
  FakeStore s;
  s.add_image("app", "v1", {"kept"});
  Digest ancient = s.add_blob("ancient", 0);
  Digest two_hours = s.add_blob("two hours old", kNow - 2 * kHour);
  Digest young = s.add_blob("ten minutes old", kNow - 600 * kSecond);
  s.add_layer_link("app", young);  // its link stays with it
  Model m = s.walk();

  GcPlan gc = plan::plan_gc(m, request(false));  // min_age 1h by default
  EXPECT_EQ(lines(gc.plan), remove_blobs({ancient, two_hours}));
  EXPECT_EQ(gc.stats.blobs, 2u);
  EXPECT_EQ(gc.stats.young_blobs_kept, 1u);
  EXPECT_EQ(gc.stats.young_blob_bytes_kept, s.size_of(young));
  EXPECT_EQ(gc.stats.layer_links, 0u);

  GcRequest r = request(false);
  r.min_age_s = 3 * 3600;
  gc = plan::plan_gc(m, r);
  EXPECT_EQ(lines(gc.plan), remove_blobs({ancient}));
  EXPECT_EQ(gc.stats.young_blobs_kept, 2u);

  r.min_age_s = 0;
  gc = plan::plan_gc(m, r);
  EXPECT_EQ(lines(gc.plan), remove_blobs({ancient, two_hours, young}) +
                                Lines{act(ActionKind::RemoveLayerLink, layout::layer_dir("app", young))});
  EXPECT_EQ(gc.stats.young_blobs_kept, 0u);
}

TEST(GcPlan, APushInProgressKeepsTheLayersItLinked) {
  // A large push: its first layer finished three hours ago, another is still uploading, and
  // the manifest has not arrived. The finished layer is old and unreferenced, but linked in the
  // repository of a young upload: kept (in gc and in what --registry-bin would let the registry
  // take). The same kind of blob in a repository with only a stale upload is swept.
  FakeStore s;
  s.add_image("app", "v1", {"kept"});
  Digest first_layer = s.add_blob("first layer of a push in progress", kNow - 3 * kHour);
  s.add_layer_link("pushing", first_layer);
  s.add_upload("pushing", "u1", util::rfc3339_utc(kNow - 10 * 60 * kSecond), "second layer, half sent", kNow - 60 * kSecond);
  Digest abandoned = s.add_blob("layer of an abandoned push", kNow - 3 * kHour);
  s.add_layer_link("abandoned", abandoned);
  s.add_upload("abandoned", "u2", util::rfc3339_utc(kNow - 200 * kHour), "never finished", kNow - 200 * kHour);
  Model m = s.walk();

  GcPlan gc = plan::plan_gc(m, request(false));
  EXPECT_EQ(plan::blobs_of_pushes_in_progress(m, kNow, 168 * 3600), std::vector<Digest>{first_layer});
  for (const auto& a : gc.plan.actions) EXPECT_NE(a.digest, std::optional<Digest>(first_layer)) << a.storage_key();
  EXPECT_TRUE(std::any_of(gc.plan.actions.begin(), gc.plan.actions.end(), [&](const plan::Action& a) {
    return a.kind == ActionKind::RemoveBlob && a.digest == abandoned;
  }));
  EXPECT_EQ(gc.stats.push_blobs_kept, 1u);
  EXPECT_EQ(gc.stats.push_blob_bytes_kept, s.size_of(first_layer));
  auto young = plan::young_blobs_registry_gc_would_delete(m, plan::Plan{}, 3600, 168 * 3600, kNow);
  ASSERT_EQ(young.size(), 1u);
  EXPECT_EQ(young[0].digest, first_layer);
  EXPECT_TRUE(young[0].in_push);

  GcRequest r = request(false);
  r.uploads_older_than_s = 0;  // no upload is young: nothing is pushing
  gc = plan::plan_gc(m, r);
  EXPECT_TRUE(std::any_of(gc.plan.actions.begin(), gc.plan.actions.end(),
                          [&](const plan::Action& a) { return a.kind == ActionKind::RemoveBlob && a.digest == first_layer; }));
}

// --- layer links -------------------------------------------------------------------------------

TEST(GcPlan, LayerLinksToSweptOrMissingBlobs) {
  FakeStore s;
  Image img = s.add_image("app", "v1", {"kept layer"});
  Digest swept = s.add_blob("pushed, never used");
  s.add_layer_link("app", swept);
  Digest missing = util::sha256("never stored");
  s.add_layer_link("app", missing);
  s.fs.add_dir(s.at(layout::blob_dir(util::sha256("folder without data"))));
  s.add_layer_link("app", util::sha256("folder without data"));
  Model m = s.walk();

  GcPlan gc = plan::plan_gc(m, request(false));
  EXPECT_EQ(lines(gc.plan), (Lines{act(ActionKind::RemoveLayerLink, layout::layer_dir("app", swept)),
                                   act(ActionKind::RemoveLayerLink, layout::layer_dir("app", missing)),
                                   act(ActionKind::RemoveLayerLink, layout::layer_dir("app", util::sha256("folder without data"))),
                                   remove_blob(swept)}));
  EXPECT_EQ(gc.stats.layer_links, 3u);
  const Action* to_swept = find_action(gc.plan, layout::layer_dir("app", swept));
  ASSERT_TRUE(to_swept);
  EXPECT_EQ(to_swept->expect, Expect::Exists);
  EXPECT_EQ(to_swept->digest, swept);
  EXPECT_EQ(to_swept->repository, "app");
  EXPECT_NE(to_swept->reason.find("swept"), std::string::npos) << to_swept->reason;
  const Action* to_missing = find_action(gc.plan, layout::layer_dir("app", missing));
  ASSERT_TRUE(to_missing);
  EXPECT_NE(to_missing->reason.find("missing"), std::string::npos) << to_missing->reason;
  expect_execution_order(gc.plan);
  EXPECT_FALSE(find_action(gc.plan, layout::layer_dir("app", img.layers[0])));
}

// --- what the model cannot read, gc keeps -----------------------------------------------------

std::set<std::string> removed_revisions(const Plan& p) {
  std::set<std::string> out;
  for (const Action& a : p.actions)
    if (a.kind == ActionKind::RemoveRevision) out.insert(a.storage_key());
  return out;
}

bool notes_mention(const Plan& p, const std::string& text) {
  return std::any_of(p.notes.begin(), p.notes.end(), [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

// app:v1 is the only tag of app; `untagged` is an older revision of app; other has an
// untagged image of its own.
struct UnreadableTags : ::testing::Test {
  FakeStore s;
  Image tagged, untagged, elsewhere;
  void SetUp() override {
    untagged = s.add_image("app", "v0", {"old layer"});
    s.fs.remove(s.at(layout::tag_dir("app", "v0")));
    tagged = s.add_image("app", "v1", {"new layer"});
    elsewhere = s.add_image("other", "x", {"other layer"});
    s.fs.remove(s.at(layout::tag_dir("other", "x")));
  }
  void expect_app_kept(const Model& m) {
    EXPECT_TRUE(m.find_repository("app")->tags_incomplete);
    GcPlan gc = plan::plan_gc(m, request(true));
    EXPECT_EQ(removed_revisions(gc.plan), (std::set<std::string>{layout::revision_dir("other", elsewhere.manifest)}));
    for (const Digest& d : {tagged.manifest, tagged.config, tagged.layers[0], untagged.manifest, untagged.config, untagged.layers[0]})
      EXPECT_FALSE(find_action(gc.plan, layout::blob_dir(d))) << d.str();
    EXPECT_TRUE(find_action(gc.plan, layout::blob_dir(elsewhere.manifest)));
    EXPECT_TRUE(notes_mention(gc.plan, "app: a tag cannot be read")) << ::testing::PrintToString(gc.plan.notes);
  }
};

TEST_F(UnreadableTags, GarbageInCurrentLinkKeepsEveryManifestOfTheRepository) {
  s.fs.add_file(s.at(layout::tag_current_link("app", "v1")), "sha256:not-a-digest");
  expect_app_kept(s.walk());
}

TEST_F(UnreadableTags, CurrentThatIsAFileKeepsEveryManifestOfTheRepository) {
  s.fs.remove(s.at(layout::tag_dir("app", "v1") + "/current"));
  s.fs.add_file(s.at(layout::tag_dir("app", "v1") + "/current"), "?");
  expect_app_kept(s.walk());
}

TEST_F(UnreadableTags, TagsFolderThatIsAFileKeepsEveryManifestOfTheRepository) {
  s.fs.remove(s.at(layout::repo_dir("app") + "/_manifests/tags"));
  s.fs.add_file(s.at(layout::repo_dir("app") + "/_manifests/tags"), "v1\n");
  expect_app_kept(s.walk());
}

TEST_F(UnreadableTags, AMissingCurrentLinkIsNoTagAsForTheRegistry) {
  s.fs.remove(s.at(layout::tag_current_link("app", "v1")));
  Model m = s.walk();
  EXPECT_FALSE(m.find_repository("app")->tags_incomplete);
  GcPlan gc = plan::plan_gc(m, request(true));
  EXPECT_EQ(removed_revisions(gc.plan).size(), 3u);
}

TEST(GcPlan, AnOpaqueManifestKeepsEveryBlobItsRepositoryLinks) {
  FakeStore s;
  Image unreadable = s.add_image("app", "v1", {"layer of the unreadable image"});
  Image untagged = s.add_image("app", "v0", {"older layer"});
  s.fs.remove(s.at(layout::tag_dir("app", "v0")));
  Digest unlinked = s.add_blob("in no repository");
  s.fs.add_file(s.at(layout::blob_data(unreadable.manifest)), "");  // truncated: zero bytes
  Model m = s.walk();
  ASSERT_TRUE(plan::is_opaque_manifest(m, unreadable.manifest));
  for (bool untagged_too : {false, true}) {
    GcPlan gc = plan::plan_gc(m, request(untagged_too));
    // Its config and layer are referenced by nothing the model can read, but linked in app.
    EXPECT_EQ(lines(gc.plan), remove_blobs({unlinked})) << untagged_too;
    EXPECT_TRUE(notes_mention(gc.plan, "manifest " + unreadable.manifest.str() + " cannot be read or parsed"))
        << ::testing::PrintToString(gc.plan.notes);
  }
  (void)untagged;
}

TEST(GcPlan, WhatARevisionWithAnUnreadableLinkNamesIsKept) {
  FakeStore s;
  s.add_image("app", "v1", {"tagged layer"});
  Image hidden = s.add_image("app", "v0", {"layer of the hidden image"});
  s.fs.remove(s.at(layout::tag_dir("app", "v0")));
  s.fs.add_file(s.at(layout::revision_link("app", hidden.manifest)), "garbage");
  Model m = s.walk();
  EXPECT_EQ(m.find_repository("app")->unreadable_revisions, std::vector<Digest>{hidden.manifest});
  for (bool untagged : {false, true}) {
    GcPlan gc = plan::plan_gc(m, request(untagged));
    for (const Digest& d : {hidden.manifest, hidden.config, hidden.layers[0]})
      EXPECT_FALSE(find_action(gc.plan, layout::blob_dir(d))) << untagged << " " << d.str();
  }
}

TEST(GcPlan, ALinkToAMissingBlobThatAKeptImageNeedsStays) {
  FakeStore s;
  Image img = s.add_image("app", "v1", {"lost layer", "kept layer"});
  s.fs.remove(s.at(layout::blob_data(img.layers[0])));  // the folder stays, without data
  s.fs.remove(s.at(layout::blob_dir(img.config)));      // nothing left of it at all
  Model m = s.walk();
  for (bool untagged : {false, true}) {
    GcPlan gc = plan::plan_gc(m, request(untagged));
    // With the links, a push of those blobs to any repository heals app:v1.
    EXPECT_TRUE(gc.plan.actions.empty()) << ::testing::PrintToString(lines(gc.plan));
    EXPECT_TRUE(plan::blobs_referenced_anew(m, gc.plan).empty());
  }
}

// --- uploads -----------------------------------------------------------------------------------

TEST(GcPlan, UploadsByStartedAtOrElseByMtime) {
  FakeStore s;
  s.add_image("app", "v1", {"l"});
  const std::string long_ago = util::rfc3339_utc(kNow - 200 * kHour);
  const std::string lately = util::rfc3339_utc(kNow - 2 * kHour);
  s.add_upload("app", "started-long-ago", long_ago, "1234", kNow);            // written to lately: startedat decides
  s.add_upload("app", "started-lately", lately, "12", 0);                     // files old: startedat decides
  s.add_upload("app", "no-startedat-old", std::nullopt, "123456", kNow - 170 * kHour);
  s.add_upload("app", "no-startedat-new", std::nullopt, "1", kNow - 100 * kHour);
  Model m = s.walk();

  GcPlan gc = plan::plan_gc(m, request(false));
  EXPECT_EQ(lines(gc.plan), (Lines{act(ActionKind::RemoveUpload, layout::upload_dir("app", "started-long-ago")),
                                   act(ActionKind::RemoveUpload, layout::upload_dir("app", "no-startedat-old"))}));
  EXPECT_EQ(gc.stats.uploads, 2u);
  EXPECT_EQ(gc.stats.upload_bytes, 10u);
  EXPECT_EQ(gc.plan.bytes(), 10u);
  const Action* up = find_action(gc.plan, layout::upload_dir("app", "no-startedat-old"));
  ASSERT_TRUE(up);
  EXPECT_EQ(up->bytes, 6u);
  EXPECT_EQ(up->expect, Expect::Exists);

  GcRequest r = request(false);
  r.uploads_older_than_s = 1 * 3600;  // now every one is old enough
  EXPECT_EQ(plan::plan_gc(m, r).stats.uploads, 4u);
}

// --- empty repositories ------------------------------------------------------------------------

struct EmptyRepos : ::testing::Test {
  FakeStore s;
  Digest orphan;
  void SetUp() override {
    // team/: only a _layers link to a blob gc sweeps; team/app below it is alive.
    orphan = s.add_blob("pushed into team, never used");
    s.add_layer_link("team", orphan);
    s.add_image("team/app", "v1", {"alive"});
    // gone/x: only a stale upload. p and p/q: the same, p listed (by name) before p/q.
    s.add_upload("gone/x", "u", std::nullopt, "123", 0);
    s.add_upload("p", "u", std::nullopt, "1", 0);
    s.add_upload("p/q", "u", std::nullopt, "1", 0);
    // left: what an API delete of its only image leaves (empty revision folder, links).
    Image img = s.add_image("left", "v1", {"left layer"});
    s.fs.remove(s.at(layout::tag_dir("left", "v1")));
    s.fs.remove(s.at(layout::revision_link("left", img.manifest)));
  }
};

TEST_F(EmptyRepos, KeptWithoutPruneEmptyRepos) {
  Model m = s.walk();
  GcPlan gc = plan::plan_gc(m, request(false));
  EXPECT_EQ(gc.stats.empty_repositories, 0u);
  for (const Action& a : gc.plan.actions) {
    EXPECT_NE(a.kind, ActionKind::RemoveRepositoryPart) << a.storage_key();
    EXPECT_NE(a.kind, ActionKind::RemoveEmptyFolder) << a.storage_key();
  }
  EXPECT_TRUE(find_action(gc.plan, layout::upload_dir("gone/x", "u")));
  EXPECT_TRUE(find_action(gc.plan, layout::layer_dir("team", orphan)));
}

TEST_F(EmptyRepos, PrunedDeepestFirstAndTheNestedOneSurvives) {
  Model m = s.walk();
  GcRequest r = request(false);
  r.prune_empty_repos = true;
  GcPlan gc = plan::plan_gc(m, r);
  EXPECT_EQ(gc.stats.empty_repositories, 5u);
  Lines structural;
  for (const Action& a : gc.plan.actions)
    if (a.kind != ActionKind::RemoveBlob) structural.insert(act(a.kind, a.storage_key()));
  // The links and upload inside removed parts are not listed again.
  EXPECT_EQ(structural, (Lines{act(ActionKind::RemoveRepositoryPart, layout::repo_dir("team") + "/_layers"),
                               act(ActionKind::RemoveRepositoryPart, layout::repo_dir("gone/x") + "/_uploads"),
                               act(ActionKind::RemoveRepositoryPart, layout::repo_dir("left") + "/_manifests"),
                               act(ActionKind::RemoveRepositoryPart, layout::repo_dir("left") + "/_layers"),
                               act(ActionKind::RemoveEmptyFolder, layout::repo_dir("team")),
                               act(ActionKind::RemoveEmptyFolder, layout::repo_dir("gone/x")),
                               act(ActionKind::RemoveEmptyFolder, layout::repo_dir("gone")),
                               act(ActionKind::RemoveEmptyFolder, layout::repo_dir("left")),
                               act(ActionKind::RemoveRepositoryPart, layout::repo_dir("p") + "/_uploads"),
                               act(ActionKind::RemoveRepositoryPart, layout::repo_dir("p/q") + "/_uploads"),
                               act(ActionKind::RemoveEmptyFolder, layout::repo_dir("p/q")),
                               act(ActionKind::RemoveEmptyFolder, layout::repo_dir("p"))}));
  expect_execution_order(gc.plan);
  auto pos = [&](const std::string& path) {
    for (std::size_t i = 0; i < gc.plan.actions.size(); ++i)
      if (gc.plan.actions[i].storage_key() == path) return i;
    return gc.plan.actions.size();
  };
  EXPECT_LT(pos(layout::repo_dir("gone/x")), pos(layout::repo_dir("gone")));
  EXPECT_LT(pos(layout::repo_dir("p/q")), pos(layout::repo_dir("p")));  // deepest first, whatever the model order

  std::ostringstream log;
  apply::SessionOptions o;
  o.force = true;
  o.now_ns = kNow;
  apply::Session session(s.store(), o, log);
  apply::RunSummary done = session.execute(gc.plan);
  EXPECT_FALSE(s.has(layout::repo_dir("gone")));
  EXPECT_FALSE(s.has(layout::repo_dir("left")));
  EXPECT_FALSE(s.has(layout::repo_dir("p")));
  EXPECT_FALSE(s.has(layout::repo_dir("team") + "/_layers"));
  EXPECT_TRUE(s.has(layout::repo_dir("team")));  // holds team/app
  EXPECT_TRUE(s.has(layout::tag_current_link("team/app", "v1")));
  EXPECT_EQ(done.kept_folders, 1u);
}

// --- links_appeared ----------------------------------------------------------------------------

TEST(LinksAppeared, OnlyNewTagsRevisionsLayerLinksOrRepositories) {
  FakeStore s;
  Image a = s.add_image("app", "v1", {"a"});
  Image b = s.put_image("b", {"b"});
  s.set_tag("app", "gone-later", a.manifest);
  Model before = s.walk();
  EXPECT_FALSE(plan::links_appeared(before, s.walk()));

  // What disappears, or a blob without links, is no reason to plan again.
  s.fs.remove(s.at(layout::tag_dir("app", "gone-later")));
  s.add_blob("a new blob nobody links");
  EXPECT_FALSE(plan::links_appeared(before, s.walk()));

  auto appeared_after = [&](auto change) {
    FakeStore t;
    t.add_image("app", "v1", {"a"});
    t.put_image("b", {"b"});
    Model m0 = t.walk();
    change(t);
    return plan::links_appeared(m0, t.walk());
  };
  EXPECT_TRUE(appeared_after([&](FakeStore& t) { t.set_tag("app", "v2", a.manifest); }));
  EXPECT_TRUE(appeared_after([&](FakeStore& t) { t.set_tag("app", "v1", b.manifest); }));  // a tag moved
  EXPECT_TRUE(appeared_after([&](FakeStore& t) { t.add_revision("app", b.manifest); }));
  EXPECT_TRUE(appeared_after([&](FakeStore& t) { t.add_layer_link("app", b.layers[0]); }));
  EXPECT_TRUE(appeared_after([&](FakeStore& t) { t.add_layer_link("other", b.layers[0]); }));  // a new repository
  EXPECT_FALSE(appeared_after([&](FakeStore& t) { t.add_blob("only a blob"); }));
}

}  // namespace
}  // namespace regsweep::test
