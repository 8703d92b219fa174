// plan/rm: what `regsweep rm` plans to remove for tags, digests and whole repositories, on
// trees built in a FakeFileSystem (see /work/shared/registry-storage.md for what the
// registry's DELETE does, which rm follows); and plan/prune where it goes through rm's
// referrer cascade (keep rules, the decisions table against the plan).
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "fake_store.h"
#include "regsweep/apply/session.h"
#include "regsweep/error.h"
#include "regsweep/plan/prune.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/reference.h"

namespace regsweep::test {
namespace {

using plan::Action;
using plan::ActionKind;
using plan::Expect;
using plan::Plan;
using plan::RmRequest;
using storage::Model;
using Lines = std::vector<std::string>;

// "kind path" of one action.
std::string act(ActionKind kind, const std::string& path) { return std::string(plan::to_string(kind)) + " " + path; }

// "kind path" of every action, in execution order.
Lines lines(const Plan& p) {
  Lines out;
  for (const Action& a : p.actions) out.push_back(act(a.kind, a.storage_key()));
  return out;
}

std::string remove_tag(const std::string& repo, const std::string& tag) { return act(ActionKind::RemoveTag, layout::tag_dir(repo, tag)); }
std::string remove_revision(const std::string& repo, const Digest& d) {
  return act(ActionKind::RemoveRevision, layout::revision_link(repo, d));
}

// A request for references typed on the command line.
RmRequest refs(const std::vector<std::string>& texts) {
  RmRequest r;
  for (const std::string& t : texts) r.references.push_back(util::parse_image_reference(t));
  return r;
}

RmRequest repos(const std::vector<std::string>& names) {
  RmRequest r;
  r.repositories = names;
  return r;
}

const Action& find_action(const Plan& p, const std::string& path) {
  for (const Action& a : p.actions)
    if (a.storage_key() == path) return a;
  ADD_FAILURE() << "no action for " << path;
  static const Action none;
  return none;
}

// Runs the plan on the store for real (trash, audit), as `regsweep rm --force` would.
apply::RunSummary execute(FakeStore& s, const Plan& p) {
  apply::SessionOptions o;
  o.force = true;  // no look for a live registry in /proc
  o.now_ns = 1'790'000'000'000'000'000;
  std::ostringstream log;
  apply::Session session(s.store(), o, log);
  return session.execute(p);
}

// app:v1 and app:latest name image `a`; app:v2 names `b`; app:moved named `a` once and now
// names `b` (its index/ lists both).
struct TwoImages : ::testing::Test {
  FakeStore s;
  Image a, b;
  void SetUp() override {
    a = s.add_image("app", "v1", {"shared layer", "layer only a has"});
    s.set_tag("app", "latest", a.manifest);
    b = s.add_image("app", "v2", {"shared layer", "layer only b has"});
    s.set_tag("app", "moved", a.manifest);
    s.set_tag("app", "moved", b.manifest);
  }
};

// --- by tag, by digest, --untag -----------------------------------------------------------

TEST_F(TwoImages, ByTagRemovesTheRevisionLinkAndEveryTagNamingTheDigest) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1"}));
  EXPECT_EQ(p.command, "rm");
  // Tags first (in name order), then the revision's link file; app:moved only has `a` in its
  // history and stays, as with the registry's DELETE.
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "latest"), remove_tag("app", "v1"), remove_revision("app", a.manifest)}));

  const Action& tag = find_action(p, layout::tag_dir("app", "latest"));
  EXPECT_EQ(tag.expect, Expect::LinkIs);
  EXPECT_EQ(tag.check_key(), layout::tag_current_link("app", "latest"));
  EXPECT_EQ(tag.digest, a.manifest);
  EXPECT_EQ(tag.repository, "app");
  EXPECT_EQ(tag.tag, "latest");
  EXPECT_EQ(tag.bytes, 0u);

  const Action& rev = find_action(p, layout::revision_link("app", a.manifest));
  EXPECT_EQ(rev.expect, Expect::LinkIs);
  EXPECT_EQ(rev.check_key(), layout::revision_link("app", a.manifest));  // the file itself, not its folder
  EXPECT_EQ(rev.digest, a.manifest);
  EXPECT_EQ(rev.repository, "app");
  EXPECT_TRUE(p.notes.empty());  // no referrers were involved
}

TEST_F(TwoImages, ByDigestIsTheSameAsByTag) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app@" + a.manifest.str()}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "latest"), remove_tag("app", "v1"), remove_revision("app", a.manifest)}));
}

TEST_F(TwoImages, HostInFrontOfTheReferenceIsIgnored) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"myregistry:5000/app:v2"}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "moved"), remove_tag("app", "v2"), remove_revision("app", b.manifest)}));
}

TEST_F(TwoImages, UntagRemovesOnlyTheTag) {
  Model m = s.walk();
  RmRequest r = refs({"app:v1"});
  r.untag = true;
  Plan p = plan::plan_rm(m, r);
  ASSERT_EQ(lines(p), (Lines{remove_tag("app", "v1")}));
  const Action& tag = p.actions[0];
  EXPECT_EQ(tag.expect, Expect::LinkIs);
  EXPECT_EQ(tag.check_key(), layout::tag_current_link("app", "v1"));
  EXPECT_EQ(tag.digest, a.manifest);
  EXPECT_EQ(p.gc_would_free, 0u);  // the revision stays, so do its blobs
}

TEST_F(TwoImages, TwoReferencesToOneDigestGiveEachActionOnce) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1", "app:latest", "app@" + a.manifest.str(), "app:v1"}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "latest"), remove_tag("app", "v1"), remove_revision("app", a.manifest)}));
}

TEST_F(TwoImages, TagsGoBeforeEveryRevision) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1", "app:v2"}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "latest"), remove_tag("app", "v1"), remove_tag("app", "moved"),
                             remove_tag("app", "v2"), remove_revision("app", a.manifest), remove_revision("app", b.manifest)}));
}

// --- what a GC would free afterwards ----------------------------------------------------------

TEST_F(TwoImages, GcWouldFreeTheBlobsOnlyTheDeletedManifestReferenced) {
  s.add_blob("an orphan that is unreferenced before and after");
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1"}));
  // a's manifest, config and own layer; not the layer b shares.
  EXPECT_EQ(p.gc_would_free, s.size_of({a.manifest, a.config, a.layers[1]}));
  EXPECT_EQ(p.bytes(), 0u);  // rm itself frees nothing: only a GC does
}

TEST_F(TwoImages, GcWouldFreeNothingWhileAnotherRepositoryLinksTheManifest) {
  s.link_image("mirror/app", a);
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1"}));
  EXPECT_EQ(lines(p).size(), 3u);
  EXPECT_EQ(p.gc_would_free, 0u);
}

TEST(RmPlan, MultiArchTagLeavesTheChildRevisions) {
  FakeStore s;
  Image amd = s.put_image("amd64", {"amd layer"});
  Image arm = s.put_image("arm64", {"arm layer"});
  Digest index = s.add_index("app", "v1", {amd, arm});
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1"}));
  // What the registry's DELETE of the index does: the children stay, and so, for its GC
  // (which marks every revision), do their blobs.
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "v1"), remove_revision("app", index)}));
  EXPECT_EQ(p.gc_would_free, s.size_of(index));
}

TEST(RmPlan, DigestThatIsTaggedButHasNoRevisionRemovesTheTag) {
  FakeStore s;
  Image a = s.put_image("a", {"l"});
  s.set_tag("app", "v1", a.manifest);  // no revision link
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app@" + a.manifest.str()}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "v1")}));
}

// --- referrers -------------------------------------------------------------------------------

struct Referrers : ::testing::Test {
  FakeStore s;
  Image a, other, sig, att, sbom, fallback, untagged, nested, tagged;
  void SetUp() override {
    a = s.add_image("app", "v1", {"image layer"});
    other = s.add_image("app", "v2", {"other layer"});
    const std::string hex = a.manifest.hex();
    // cosign-style tags
    sig = s.add_image("app", "sha256-" + hex + ".sig", {"signature"});
    att = s.add_image("app", "sha256-" + hex + ".att", {"attestation"});
    sbom = s.add_image("app", "sha256-" + hex + ".sbom", {"sbom"});
    fallback = s.add_image("app", "sha256-" + hex, {"referrers tag schema"});
    // OCI 1.1 subject referrers
    untagged = s.add_referrer("app", a.manifest, "application/vnd.dev.sigstore.bundle+json", {"untagged signature"});
    nested = s.add_referrer("app", untagged.manifest, "application/vnd.example.countersign", {"signature of the signature"});
    tagged = s.add_referrer("app", a.manifest, "application/spdx+json", {"tagged sbom"});
    s.set_tag("app", "sbom-kept", tagged.manifest);
    // a referrer of the other image is not concerned
    s.add_referrer("app", other.manifest, "application/vnd.dev.sigstore.bundle+json", {"other signature"});
  }
};

TEST_F(Referrers, DeletedByDefault) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1"}));
  const std::string hex = a.manifest.hex();
  Lines expected_tags = {remove_tag("app", "sha256-" + hex), remove_tag("app", "sha256-" + hex + ".att"),
                         remove_tag("app", "sha256-" + hex + ".sbom"), remove_tag("app", "sha256-" + hex + ".sig"),
                         remove_tag("app", "v1")};
  std::sort(expected_tags.begin(), expected_tags.end());
  std::set<std::string> expected_revisions = {
      remove_revision("app", a.manifest),        remove_revision("app", sig.manifest),
      remove_revision("app", att.manifest),      remove_revision("app", sbom.manifest),
      remove_revision("app", fallback.manifest), remove_revision("app", untagged.manifest),
      remove_revision("app", nested.manifest)};

  Lines got = lines(p);
  ASSERT_EQ(got.size(), expected_tags.size() + expected_revisions.size());
  // Every tag before every revision.
  Lines got_tags(got.begin(), got.begin() + static_cast<long>(expected_tags.size()));
  std::sort(got_tags.begin(), got_tags.end());
  EXPECT_EQ(got_tags, expected_tags);
  EXPECT_EQ(std::set<std::string>(got.begin() + static_cast<long>(expected_tags.size()), got.end()), expected_revisions);
  // The tagged referrer and its tag stay.
  for (const Action& x : p.actions) {
    EXPECT_NE(x.digest, tagged.manifest) << x.storage_key();
    EXPECT_NE(x.tag, "sbom-kept");
  }
  EXPECT_EQ(p.notes.size(), 1u);  // the difference from the registry's API is said
}

TEST_F(Referrers, KeptWithReferrersFalse) {
  Model m = s.walk();
  RmRequest r = refs({"app:v1"});
  r.referrers = false;
  Plan p = plan::plan_rm(m, r);
  EXPECT_EQ(lines(p), (Lines{remove_tag("app", "v1"), remove_revision("app", a.manifest)}));
  EXPECT_TRUE(p.notes.empty());
}

TEST_F(Referrers, GcWouldFreeIncludesTheDeletedReferrers) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"app:v1"}));
  // Every deleted manifest, its own layers; the shared "{}" config of the OCI referrers stays
  // (the kept referrers use it).
  std::uint64_t expected = s.size_of({a.manifest, a.config, a.layers[0]});
  for (const Image* img : {&sig, &att, &sbom, &fallback}) expected += s.size_of(image_blobs(*img));
  for (const Image* img : {&untagged, &nested}) expected += s.size_of(img->manifest) + s.size_of(img->layers);
  EXPECT_EQ(p.gc_would_free, expected);
}

// Issue #16, section 2: following referrers never removes a tag the user did not name. `prod`
// names the signature manifest of z's image, which is also tagged sha256-<z>.sig.
struct SignatureWithATag : ::testing::Test {
  FakeStore s;
  Image z, sig, x, sig_x;
  std::string sig_tag, sig_x_tag;
  void SetUp() override {
    z = s.add_image("e/app", "z", {"z layer"});
    sig_tag = "sha256-" + z.manifest.hex() + ".sig";
    sig = s.add_image("e/app", sig_tag, {"signature of z"});
    s.set_tag("e/app", "prod", sig.manifest);
    x = s.add_image("e/app", "x", {"x layer"});
    sig_x_tag = "sha256-" + x.manifest.hex() + ".sig";
    sig_x = s.add_image("e/app", sig_x_tag, {"signature of x"});
    s.set_tag("e/app", "sig-backup", sig_x.manifest);
  }
};

TEST_F(SignatureWithATag, RmUntagsOnlyTheCosignTagOfAReferrerThatCarriesAnotherTag) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"e/app:z"}));
  // Before: prod and the signature's revision went too ("referrer tag").
  EXPECT_EQ(lines(p), (Lines{remove_tag("e/app", "z"), remove_tag("e/app", sig_tag), remove_revision("e/app", z.manifest)}));
  const Action& untag = find_action(p, layout::tag_dir("e/app", sig_tag));
  EXPECT_EQ(untag.expect, Expect::LinkIs);
  EXPECT_EQ(untag.digest, sig.manifest);
  EXPECT_NE(untag.reason.find("also tagged e/app:prod"), std::string::npos) << untag.reason;

  execute(s, p);
  Model after = s.walk();
  const storage::Repository* repo = after.find_repository("e/app");
  ASSERT_NE(repo, nullptr);
  ASSERT_NE(repo->find_tag("prod"), nullptr);
  EXPECT_EQ(repo->find_tag("prod")->current, sig.manifest);
  EXPECT_TRUE(repo->has_revision(sig.manifest));
  EXPECT_EQ(repo->find_tag(sig_tag), nullptr);
  EXPECT_FALSE(repo->has_revision(z.manifest));
}

TEST_F(SignatureWithATag, RmOfBothSubjectsOfASharedReferrerDeletesIt) {
  // One referrer manifest under the cosign tags of two subjects (and no other tag): it goes
  // when both subjects go, whatever order they are found in; with one of them, it stays.
  Image a = s.add_image("f/app", "a", {"a"});
  Image b = s.add_image("f/app", "b", {"b"});
  Image shared = s.add_image("f/app", "sha256-" + a.manifest.hex() + ".sig", {"shared signature"});
  s.set_tag("f/app", "sha256-" + b.manifest.hex() + ".sig", shared.manifest);
  Model m = s.walk();
  for (const auto& order : {Lines{"f/app:a", "f/app:b"}, Lines{"f/app:b", "f/app:a"}}) {
    Plan p = plan::plan_rm(m, refs(order));
    EXPECT_TRUE(std::any_of(p.actions.begin(), p.actions.end(), [&](const Action& a) {
      return a.kind == ActionKind::RemoveRevision && a.digest == shared.manifest;
    })) << ::testing::PrintToString(lines(p));
    EXPECT_EQ(lines(p).size(), 7u) << ::testing::PrintToString(lines(p));  // 4 tags, 3 revisions
  }
  Plan one = plan::plan_rm(m, refs({"f/app:a"}));
  EXPECT_EQ(lines(one), (Lines{remove_tag("f/app", "a"), remove_tag("f/app", "sha256-" + a.manifest.hex() + ".sig"),
                               remove_revision("f/app", a.manifest)}));
}

TEST_F(SignatureWithATag, KeptTagsStopTheCascadeEvenOnACosignTag) {
  Model m = s.walk();
  RmRequest r = refs({"e/app:x"});
  r.kept_tags = {{"e/app", sig_x_tag}};
  Plan p = plan::plan_rm(m, r);
  // sig-backup holds the manifest anyway; the kept cosign tag is not even untagged.
  EXPECT_EQ(lines(p), (Lines{remove_tag("e/app", "x"), remove_revision("e/app", x.manifest)}));
}

// The decisions table is the plan read per tag: every tag the plan removes shows `deleted`,
// every other one `kept`, and `untag_only` exactly when its digest's revision stays.
Lines disagreements(const plan::PrunePlan& pp) {
  std::set<std::string> removed_tags;
  std::set<std::pair<std::string, Digest>> removed_revisions;
  for (const Action& a : pp.plan.actions) {
    if (a.kind == ActionKind::RemoveTag) removed_tags.insert(a.storage_key());
    if (a.kind == ActionKind::RemoveRevision) removed_revisions.emplace(a.repository, *a.digest);
  }
  Lines out;
  for (const plan::TagDecision& d : pp.decisions) {
    const bool tag_goes = removed_tags.count(layout::tag_dir(d.repository, d.tag)) != 0;
    const bool image_goes = d.digest && removed_revisions.count({d.repository, *d.digest});
    const bool deleted = d.verdict == plan::TagVerdict::Deleted;
    if (deleted != tag_goes || (deleted && d.untag_only == image_goes) || (!deleted && image_goes))
      out.push_back(d.repository + ":" + d.tag + (deleted ? " deleted" : " kept") + (d.untag_only ? " (untag only)" : "") +
                    ", plan: tag " + (tag_goes ? "removed" : "stays") + ", image " + (image_goes ? "removed" : "stays") + " (" +
                    d.reason + ")");
  }
  return out;
}

const plan::TagDecision& decision(const plan::PrunePlan& pp, const std::string& tag) {
  for (const auto& d : pp.decisions)
    if (d.tag == tag) return d;
  ADD_FAILURE() << "no decision for " << tag;
  static const plan::TagDecision none;
  return none;
}

plan::PrunePlan prune(const Model& m, std::vector<std::string> match, std::vector<std::string> keep) {
  plan::PrunePolicy policy;
  policy.repo_globs = {"e/app"};
  policy.match = std::move(match);
  policy.keep = std::move(keep);
  policy.now_ns = 1'790'000'000'000'000'000;
  return plan::plan_prune(m, policy, {});
}

TEST_F(SignatureWithATag, PruneKeepRuleHoldsThroughAReferrer) {
  Model m = s.walk();
  plan::PrunePlan pp = prune(m, {"^z$"}, {"^prod$"});
  EXPECT_EQ(disagreements(pp), Lines{});
  EXPECT_EQ(decision(pp, "prod").verdict, plan::TagVerdict::Kept);
  EXPECT_EQ(decision(pp, "z").verdict, plan::TagVerdict::Deleted);
  EXPECT_EQ(decision(pp, sig_tag).verdict, plan::TagVerdict::Deleted);
  EXPECT_TRUE(decision(pp, sig_tag).untag_only);
  // Before: prod's folder and the signature's revision were in the plan.
  EXPECT_EQ(lines(pp.plan), (Lines{remove_tag("e/app", "z"), remove_tag("e/app", sig_tag), remove_revision("e/app", z.manifest)}));
}

TEST_F(SignatureWithATag, PruneTableAndPlanAgreeOnAnotherTagOfTheSignature) {
  Model m = s.walk();
  plan::PrunePlan pp = prune(m, {"^x$"}, {});
  EXPECT_EQ(disagreements(pp), Lines{});  // before: "keep sig-backup" while the plan removed it
  EXPECT_EQ(decision(pp, "sig-backup").verdict, plan::TagVerdict::Kept);
  for (const Action& a : pp.plan.actions) {
    EXPECT_NE(a.tag, "sig-backup");
    if (a.kind == ActionKind::RemoveRevision) {
      EXPECT_NE(a.digest, sig_x.manifest) << a.storage_key();  // the signature stays
    }
  }
}

TEST_F(SignatureWithATag, PruneOfATagOnTheSignatureOfAKeptImageIsAnUntag) {
  // prod goes by the policy, but z stays, and with it its cosign tag and the manifest it names.
  Model m = s.walk();
  plan::PrunePlan pp = prune(m, {"^prod$"}, {});
  EXPECT_EQ(disagreements(pp), Lines{});  // before: the cosign tag was "kept" but went with prod's digest
  EXPECT_TRUE(decision(pp, "prod").untag_only);
  EXPECT_EQ(decision(pp, sig_tag).verdict, plan::TagVerdict::Kept);
  EXPECT_EQ(lines(pp.plan), (Lines{remove_tag("e/app", "prod")}));
}

TEST_F(SignatureWithATag, PruneKeepRuleCoversACosignTag) {
  Model m = s.walk();
  plan::PrunePlan pp = prune(m, {"^z$"}, {"\\.sig$"});
  EXPECT_EQ(disagreements(pp), Lines{});
  EXPECT_EQ(decision(pp, sig_tag).verdict, plan::TagVerdict::Kept);
  EXPECT_NE(decision(pp, sig_tag).reason.find("--keep"), std::string::npos) << decision(pp, sig_tag).reason;
  EXPECT_EQ(lines(pp.plan), (Lines{remove_tag("e/app", "z"), remove_revision("e/app", z.manifest)}));
}

TEST_F(Referrers, PruneTableAgreesWithThePlan) {
  // The Referrers tree (cosign tags, subject referrers, a tagged SBOM) under every --match of
  // one tag: the table and the plan never disagree.
  Model m = s.walk();
  for (const auto& tag : m.find_repository("app")->tags) {
    plan::PrunePolicy policy;
    policy.match = {"^" + tag.name + "$"};
    policy.now_ns = 1'790'000'000'000'000'000;
    plan::PrunePlan pp = plan::plan_prune(m, policy, {});
    EXPECT_EQ(disagreements(pp), Lines{}) << tag.name;
  }
}

// --- issue #16, section 3: a child of an index that a staying tag names ---------------------

struct IndexChild : ::testing::Test {
  FakeStore s;
  Image amd, arm;
  Digest index;
  void SetUp() override {
    amd = s.put_image("amd64", {"amd layer"});
    arm = s.put_image("arm64", {"arm layer"});
    index = s.add_index("e/app", "m", {amd, arm});
    s.set_tag("e/app", "latest", index);
  }
};

// The SafetyRefusal plan_rm throws (fails the test when none).
SafetyRefusal refusal(const Model& m, const RmRequest& r) {
  try {
    plan::plan_rm(m, r);
  } catch (const SafetyRefusal& e) {
    return e;
  }
  ADD_FAILURE() << "no refusal";
  return SafetyRefusal("", "");
}

TEST_F(IndexChild, ByDigestIsRefusedNamingTheTagsAndPlatforms) {
  Model m = s.walk();
  SafetyRefusal e = refusal(m, refs({"e/app@" + amd.manifest.str()}));
  const std::string what = e.what();
  EXPECT_NE(what.find("e/app:m (platforms: linux/amd64)"), std::string::npos) << what;
  EXPECT_NE(what.find("e/app:latest (platforms: linux/amd64)"), std::string::npos) << what;
  EXPECT_NE(what.find(amd.manifest.str()), std::string::npos) << what;
  EXPECT_EQ(e.path(), s.at(layout::revision_link("e/app", amd.manifest)));
  EXPECT_NE(e.hint().find("--break-index"), std::string::npos) << e.hint();
  EXPECT_EQ(e.exit_code(), kExitRefused);
}

TEST_F(IndexChild, ATagOnTheChildIsRefusedButMayBeUntagged) {
  s.set_tag("e/app", "amd64", amd.manifest);
  Model m = s.walk();
  SafetyRefusal e = refusal(m, refs({"e/app:amd64"}));
  EXPECT_NE(std::string(e.what()).find("e/app:m (platforms: linux/amd64)"), std::string::npos) << e.what();
  EXPECT_NE(e.hint().find("--untag"), std::string::npos) << e.hint();
  RmRequest untag = refs({"e/app:amd64"});
  untag.untag = true;
  EXPECT_EQ(lines(plan::plan_rm(m, untag)), (Lines{remove_tag("e/app", "amd64")}));
}

TEST_F(IndexChild, BreakIndexDeletesItAndSaysWhatBreaks) {
  Model m = s.walk();
  RmRequest r = refs({"e/app@" + amd.manifest.str()});
  r.break_index = true;
  Plan p = plan::plan_rm(m, r);
  EXPECT_EQ(lines(p), (Lines{remove_revision("e/app", amd.manifest)}));
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("e/app:m (platforms: linux/amd64)"), std::string::npos) << p.notes[0];
}

TEST_F(IndexChild, NoRefusalWhenTheIndexGoesToo) {
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"e/app:m", "e/app@" + amd.manifest.str()}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("e/app", "latest"), remove_tag("e/app", "m"), remove_revision("e/app", index),
                             remove_revision("e/app", amd.manifest)}));
  // Nor for the index alone (the API's DELETE: its children stay).
  EXPECT_EQ(lines(plan::plan_rm(m, refs({"e/app:m"}))).size(), 3u);
}

TEST_F(IndexChild, AnIndexOfIndexesNamesThePlatformOfTheDeletedChild) {
  Digest outer = s.put_index({index}, media_type::kOciIndex, {{"", ""}});
  s.add_revision("e/app", outer);
  s.set_tag("e/app", "nested", outer);
  Model m = s.walk();
  RmRequest r = refs({"e/app@" + arm.manifest.str()});
  const std::string what = refusal(m, r).what();
  EXPECT_NE(what.find("e/app:nested (platforms: linux/arm64/v8)"), std::string::npos) << what;
}

TEST_F(IndexChild, AReferrerListedByAStayingIndexIsNotDeletedByTheCascade) {
  // A cosign signature of v1 that (oddly) is also a child of the tagged index: rm v1 leaves it.
  Image v1 = s.add_image("e/app", "v1", {"v1"});
  Image sig = s.put_image("sig of v1 and a platform", {"sig"});
  s.link_image("e/app", sig);
  s.set_tag("e/app", "sha256-" + v1.manifest.hex() + ".sig", sig.manifest);
  Digest with_sig = s.put_index({amd.manifest, sig.manifest});
  s.add_revision("e/app", with_sig);
  s.set_tag("e/app", "odd", with_sig);
  Model m = s.walk();
  Plan p = plan::plan_rm(m, refs({"e/app:v1"}));
  EXPECT_EQ(lines(p), (Lines{remove_tag("e/app", "v1"), remove_tag("e/app", "sha256-" + v1.manifest.hex() + ".sig"),
                             remove_revision("e/app", v1.manifest)}));
}

// --- --repository ----------------------------------------------------------------------------

TEST(RmPlan, RepositoryRemovesItsPartsThenItsFolderAndEmptyParents) {
  FakeStore s;
  s.add_image("team/app", "v1", {"l1"});
  s.add_upload("team/app", "u1", std::string("2026-01-01T00:00:00Z"), "12345", 0);
  s.add_upload("team/app", "u2", std::nullopt, "678", 0);
  Model m = s.walk();
  Plan p = plan::plan_rm(m, repos({"team/app"}));
  const std::string dir = layout::repo_dir("team/app");
  EXPECT_EQ(lines(p), (Lines{act(ActionKind::RemoveRepositoryPart, dir + "/_manifests"),
                             act(ActionKind::RemoveRepositoryPart, dir + "/_layers"),
                             act(ActionKind::RemoveRepositoryPart, dir + "/_uploads"),
                             act(ActionKind::RemoveEmptyFolder, dir), act(ActionKind::RemoveEmptyFolder, layout::repo_dir("team"))}));
  EXPECT_EQ(find_action(p, dir + "/_uploads").bytes, 8u);
  EXPECT_EQ(find_action(p, dir + "/_manifests").expect, Expect::Exists);
  EXPECT_EQ(find_action(p, dir).expect, Expect::EmptyFolder);
  std::uint64_t all_blobs = 0;
  for (const auto& b : m.blobs) all_blobs += b.size;
  EXPECT_EQ(p.gc_would_free, all_blobs);  // every blob was this repository's alone

  apply::RunSummary done = execute(s, p);
  EXPECT_FALSE(s.has(layout::repo_dir("team")));
  EXPECT_TRUE(s.has(layout::v2("repositories")));
  EXPECT_EQ(done.removed, 5u);
  EXPECT_EQ(done.kept_folders, 0u);
}

TEST(RmPlan, RepositoryWithANestedOneKeepsItsFolder) {
  FakeStore s;
  s.add_image("team", "v1", {"outer"});
  Image inner = s.add_image("team/app", "v1", {"inner"});
  Model m = s.walk();
  Plan p = plan::plan_rm(m, repos({"team"}));
  const std::string dir = layout::repo_dir("team");
  EXPECT_EQ(lines(p), (Lines{act(ActionKind::RemoveRepositoryPart, dir + "/_manifests"),
                             act(ActionKind::RemoveRepositoryPart, dir + "/_layers"), act(ActionKind::RemoveEmptyFolder, dir)}));

  apply::RunSummary done = execute(s, p);
  EXPECT_EQ(done.removed, 2u);
  EXPECT_EQ(done.kept_folders, 1u);  // team/ still holds team/app
  EXPECT_FALSE(s.has(dir + "/_manifests"));
  EXPECT_TRUE(s.has(layout::tag_current_link("team/app", "v1")));
  EXPECT_EQ(s.content(layout::revision_link("team/app", inner.manifest)), inner.manifest.str());
}

TEST(RmPlan, TwoRepositoriesShareTheirEmptyParentOnce) {
  FakeStore s;
  s.add_image("team/a", "v1", {"a"});
  s.add_image("team/b", "v1", {"b"});
  Model m = s.walk();
  Plan p = plan::plan_rm(m, repos({"team/a", "team/b"}));
  EXPECT_EQ(std::count_if(p.actions.begin(), p.actions.end(), [&](const Action& a) { return a.storage_key() == layout::repo_dir("team"); }), 1);
}

TEST(RmPlan, RepositoriesSharingAParentGiveNoLeftoverFolders) {
  for (const std::vector<std::string>& names : {std::vector<std::string>{"team/a", "team/b"}, std::vector<std::string>{"a/b", "a/b/c"}}) {
    SCOPED_TRACE(names[0] + " and " + names[1]);
    FakeStore s;
    s.add_image(names[0], "v1", {"first"});
    s.add_image(names[1], "v1", {"second"});
    Plan p = plan::plan_rm(s.walk(), repos(names));
    const std::string top = names[0].substr(0, names[0].find('/'));
    apply::RunSummary done = execute(s, p);
    EXPECT_FALSE(s.has(layout::repo_dir(top))) << "left behind: " << ::testing::PrintToString(s.below(layout::repo_dir(top)));
    EXPECT_EQ(done.kept_folders, 0u);
  }
}

// --- what cannot be found --------------------------------------------------------------------

// The path of the Error plan_rm throws for `request` ("" when it throws none).
std::string error_path(const Model& m, const RmRequest& request) {
  try {
    plan::plan_rm(m, request);
  } catch (const Error& e) {
    return e.path();
  }
  return "";
}

TEST_F(TwoImages, UnknownThingsAreErrorsNamingTheirPlace) {
  Image broken = s.put_image("broken", {"x"});
  s.link_image("app", broken);
  s.add_link(layout::tag_index_dir("app", "nocurrent", broken.manifest) + "/link", broken.manifest);  // no current/link
  s.fs.add_file(s.at(layout::tag_current_link("app", "garbage")), "not a digest");
  Model m = s.walk();
  const Digest unknown = util::sha256("no such manifest");

  EXPECT_EQ(error_path(m, refs({"nope:v1"})), s.at(layout::repo_dir("nope")));
  EXPECT_EQ(error_path(m, repos({"team/nope"})), s.at(layout::repo_dir("team/nope")));
  EXPECT_EQ(error_path(m, refs({"app:nope"})), s.at(layout::tag_dir("app", "nope")));
  EXPECT_EQ(error_path(m, refs({"app@" + unknown.str()})), s.at(layout::revision_link("app", unknown)));
  EXPECT_EQ(error_path(m, refs({"app:nocurrent"})), s.at(layout::tag_current_link("app", "nocurrent")));
  EXPECT_EQ(error_path(m, refs({"app:garbage"})), s.at(layout::tag_current_link("app", "garbage")));
  // Every reference is checked, also after good ones.
  EXPECT_EQ(error_path(m, refs({"app:v1", "app:nope"})), s.at(layout::tag_dir("app", "nope")));
  // A digest known in another repository only is unknown here.
  EXPECT_EQ(error_path(m, refs({"other@" + a.manifest.str()})), s.at(layout::repo_dir("other")));
  EXPECT_THROW(plan::plan_rm(m, refs({"app:nope"})), Error);
}

// --- issue #19: prune online, where ages are creation times and some images have none -------

TEST(PruneOnline, AnUndatedImageIsKeptByAgeRulesNeverRankedAsTheOldest) {
  FakeStore s;
  s.set_tag("e/app", "old", s.put_image("old", {"old layer"}).manifest);
  s.set_tag("e/app", "undated", s.put_image("undated", {"undated layer"}).manifest);
  s.set_tag("e/app", "recent", s.put_image("recent", {"recent layer"}).manifest);
  Model m = s.walk();
  const std::int64_t now = 1'790'000'000'000'000'000, day = 86'400'000'000'000;
  for (auto& repo : m.repositories)
    for (auto& tag : repo.tags) tag.pushed_ns = tag.name == "old" ? now - 100 * day : tag.name == "recent" ? now - day : 0;
  plan::PrunePolicy policy;
  policy.now_ns = now;
  policy.times_are_created = true;
  policy.undated = {{"e/app", "undated"}};
  policy.older_than_s = 30 * 86'400;
  plan::PrunePlan pp = plan::plan_prune(m, policy, {});
  EXPECT_EQ(decision(pp, "old").verdict, plan::TagVerdict::Deleted);
  EXPECT_EQ(decision(pp, "old").reason, "deleted: created more than 30d ago");
  EXPECT_EQ(decision(pp, "recent").reason, "kept: created less than 30d ago");
  EXPECT_EQ(decision(pp, "undated").verdict, plan::TagVerdict::Kept);
  EXPECT_NE(decision(pp, "undated").reason.find("no creation time"), std::string::npos);
  // --keep-last 1: the undated image takes no rank (with pushed_ns 0 it would be the oldest).
  policy.older_than_s.reset();
  policy.keep_last = 1;
  pp = plan::plan_prune(m, policy, {});
  EXPECT_EQ(decision(pp, "recent").verdict, plan::TagVerdict::Kept);
  EXPECT_EQ(decision(pp, "old").verdict, plan::TagVerdict::Deleted);
  EXPECT_EQ(decision(pp, "undated").verdict, plan::TagVerdict::Kept);
  // Without an age rule, a time is not needed: the undated tag is judged by name as any other.
  policy.keep_last.reset();
  policy.match = {"^undated$"};
  pp = plan::plan_prune(m, policy, {});
  EXPECT_EQ(decision(pp, "undated").verdict, plan::TagVerdict::Deleted);
}

}  // namespace
}  // namespace regsweep::test
