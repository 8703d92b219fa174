// plan/registry_gc: for `gc --registry-bin`, the young blobs the registry's own collector
// would delete (it has no grace window), and what its output says it listed or deleted
// (lines as registry 2.8.2's `garbage-collect` prints them).
#include <gtest/gtest.h>

#include <algorithm>

#include "fake_store.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/registry_gc.h"
#include "regsweep/util/format.h"

namespace regsweep::test {
namespace {

using plan::YoungBlob;
using storage::Model;


std::vector<Digest> digests(const std::vector<YoungBlob>& young) {
  std::vector<Digest> out;
  for (const YoungBlob& b : young) out.push_back(b.digest);
  return out;
}

plan::GcRequest request(bool delete_untagged) {
  plan::GcRequest r;
  r.delete_untagged = delete_untagged;
  r.now_ns = kNow;
  return r;
}

// The plan gc --registry-bin runs itself: its blob and layer-link removals are the registry's.
plan::Plan without_blob_sweep(plan::Plan p) {
  std::erase_if(p.actions, [](const plan::Action& a) {
    return a.kind == plan::ActionKind::RemoveBlob || a.kind == plan::ActionKind::RemoveLayerLink;
  });
  return p;
}

// app:v1 tagged (one layer young: the registry marks it, so it is safe), an untagged revision
// whose layer is young, a young orphan, an old orphan.
struct Tree {
  FakeStore s;
  Image tagged, untagged;
  Digest young_orphan, old_orphan;
  Tree() {
    tagged = s.add_image("app", "v1", {"tagged layer"});
    s.add_blob_at(tagged.layers[0], "tagged layer", kNow - 60 * kSecond);
    untagged = s.put_image("app untagged", {"layer of the untagged revision"});
    s.link_image("app", untagged);
    s.add_blob_at(untagged.layers[0], "layer of the untagged revision", kNow - 600 * kSecond);
    young_orphan = s.add_blob("pushed five minutes ago, no manifest yet", kNow - 300 * kSecond);
    s.add_layer_link("app", young_orphan);
    old_orphan = s.add_blob("pushed long ago, no manifest", kNow - 48 * 3600 * kSecond);
  }
};

TEST(RegistryGcYoungBlobs, WhatItsMarkMissesAndIsYoungerThanMinAge) {
  Tree t;
  Model m = t.s.walk();
  // Plain gc: every revision stays, so the registry marks the untagged revision's layer.
  plan::Plan plain = without_blob_sweep(plan::plan_gc(m, request(false)).plan);
  std::vector<YoungBlob> young = plan::young_blobs_registry_gc_would_delete(m, plain, 3600, 168 * 3600, kNow);
  EXPECT_EQ(digests(young), std::vector<Digest>{t.young_orphan});
  ASSERT_EQ(young.size(), 1u);
  EXPECT_EQ(young[0].size, t.s.size_of(t.young_orphan));
  EXPECT_EQ(young[0].mtime_ns, kNow - 300 * kSecond);

  // gc -m removes the untagged revision first: its young layer is then the registry's to take.
  plan::Plan m_plan = without_blob_sweep(plan::plan_gc(m, request(true)).plan);
  young = plan::young_blobs_registry_gc_would_delete(m, m_plan, 3600, 168 * 3600, kNow);
  EXPECT_EQ(digests(young), (std::vector<Digest>{t.young_orphan, t.untagged.layers[0]})) << "youngest first";

  // Old enough for the window given, or no window at all.
  EXPECT_EQ(digests(plan::young_blobs_registry_gc_would_delete(m, m_plan, 400, 168 * 3600, kNow)), std::vector<Digest>{t.young_orphan});
  EXPECT_TRUE(plan::young_blobs_registry_gc_would_delete(m, m_plan, 0, 168 * 3600, kNow).empty());
}

// --- the collector's output ------------------------------------------------------------------

const Digest kA = *Digest::parse("sha256:2b2d2fa0c84d999ef6544e65d0488c82b9c11c4a08b7bf2925d130b366a3795b");
const Digest kB = *Digest::parse("sha256:838bb931141200859b0c6010ae51ed78bd84aa841b15cc441acfe1f881386bd8");
const Digest kC = *Digest::parse("sha256:9b5a731173d80976bb573b2c1b1bfc5f2cc326acbbd6d56a20fceba5af6be84f");

// `docker-registry garbage-collect -m` (2.8.2) on a small tree, stdout then stderr at log level info.
const char* const kRealRun = R"(x/app
x/app: marking manifest sha256:0c8fe617fc6c1117367cf891ce30378cb0e0c22bf1591018b7afe7af0b913444 
x/app: marking blob sha256:634061d9be5c25a9305a695f158a083f5a20476482fddcc2a7b83d7ae04c6839
x/app: marking blob sha256:078030a9052c76ebfa3fcd7c44bef4d2909f7eba7d8619fdc4267ab9d0cdd92b
manifest eligible for deletion: sha256:838bb931141200859b0c6010ae51ed78bd84aa841b15cc441acfe1f881386bd8

3 blobs marked, 3 blobs and 1 manifests eligible for deletion
blob eligible for deletion: sha256:2b2d2fa0c84d999ef6544e65d0488c82b9c11c4a08b7bf2925d130b366a3795b
blob eligible for deletion: sha256:838bb931141200859b0c6010ae51ed78bd84aa841b15cc441acfe1f881386bd8
blob eligible for deletion: sha256:9b5a731173d80976bb573b2c1b1bfc5f2cc326acbbd6d56a20fceba5af6be84f
time="2026-12-03T09:18:17.881484942Z" level=info msg="deleting manifest tag reference: /docker/registry/v2/repositories/x/app/_manifests/tags/v2/index/sha256/838bb931141200859b0c6010ae51ed78bd84aa841b15cc441acfe1f881386bd8" go.version=go1.19.8 instance.id=9f564e19-f786-4f70-a1a6-bdc759cbd0bd
time="2026-12-03T09:18:17.963570125Z" level=info msg="deleting manifest: /docker/registry/v2/repositories/x/app/_manifests/revisions/sha256/838bb931141200859b0c6010ae51ed78bd84aa841b15cc441acfe1f881386bd8" go.version=go1.19.8 instance.id=9f564e19-f786-4f70-a1a6-bdc759cbd0bd
time="2026-12-03T09:18:17.97024522Z" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/2b/2b2d2fa0c84d999ef6544e65d0488c82b9c11c4a08b7bf2925d130b366a3795b" go.version=go1.19.8 instance.id=9f564e19-f786-4f70-a1a6-bdc759cbd0bd
time="2026-12-03T09:18:18.006647638Z" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/83/838bb931141200859b0c6010ae51ed78bd84aa841b15cc441acfe1f881386bd8" go.version=go1.19.8 instance.id=9f564e19-f786-4f70-a1a6-bdc759cbd0bd
)";

TEST(RegistryGcOutput, RealRunListsAndDeletes) {
  plan::RegistryGcOutput out = plan::parse_registry_gc_output(kRealRun);
  EXPECT_EQ(out.marked, std::optional<std::uint64_t>(3));
  EXPECT_EQ(out.blobs_eligible, (std::vector<Digest>{kA, kB, kC}));
  EXPECT_EQ(out.manifests_eligible, std::vector<Digest>{kB});
  EXPECT_EQ(out.blobs_deleted, (std::vector<Digest>{kA, kB})) << "the marking and manifest lines are not deletions";
}

TEST(RegistryGcOutput, DryRunListsAndDeletesNothing) {
  plan::RegistryGcOutput out = plan::parse_registry_gc_output(
      "x/app\n\n6 blobs marked, 1 blobs and 0 manifests eligible for deletion\n"
      "blob eligible for deletion: sha256:2b2d2fa0c84d999ef6544e65d0488c82b9c11c4a08b7bf2925d130b366a3795b\n");
  EXPECT_EQ(out.marked, std::optional<std::uint64_t>(6));
  EXPECT_EQ(out.blobs_eligible, std::vector<Digest>{kA});
  EXPECT_TRUE(out.manifests_eligible.empty());
  EXPECT_TRUE(out.blobs_deleted.empty());
}

TEST(RegistryGcOutput, JsonLogLinesCrLfAndRepeats) {
  plan::RegistryGcOutput out = plan::parse_registry_gc_output(
      "blob eligible for deletion: sha256:9b5a731173d80976bb573b2c1b1bfc5f2cc326acbbd6d56a20fceba5af6be84f\r\n"
      "blob eligible for deletion: sha256:9b5a731173d80976bb573b2c1b1bfc5f2cc326acbbd6d56a20fceba5af6be84f\n"
      R"({"level":"info","msg":"Deleting blob: /docker/registry/v2/blobs/sha256/9b/9b5a731173d80976bb573b2c1b1bfc5f2cc326acbbd6d56a20fceba5af6be84f","time":"x"})"
      "\n");
  EXPECT_FALSE(out.marked);
  EXPECT_EQ(out.blobs_eligible, std::vector<Digest>{kC});
  EXPECT_EQ(out.blobs_deleted, std::vector<Digest>{kC});
}

TEST(RegistryGcOutput, WhatIsNotADigestIsIgnored) {
  plan::RegistryGcOutput out = plan::parse_registry_gc_output(
      "blob eligible for deletion: sha256:2b2d\n"                          // cut short
      "blob eligible for deletion: sha256:ZZ2d2fa0c84d999ef6544e65d0488c82b9c11c4a08b7bf2925d130b366a3795b\n"
      "msg=\"Deleting blob: /docker/registry/v2/blobs/sha256/ff/2b2d2fa0c84d999ef6544e65d0488c82b9c11c4a08b7bf2925d130b366a3795b\"\n"
      "msg=\"Deleting blob: /docker/registry/v2/blobs/sha256/2b\"\n"
      "x blobs marked, 1 blobs and 0 manifests eligible for deletion\n"
      "no newline at the end: blob eligible for deletion: sha256:");
  EXPECT_FALSE(out.marked);
  EXPECT_TRUE(out.blobs_eligible.empty());
  EXPECT_TRUE(out.blobs_deleted.empty()) << "a prefix folder that does not match its digest";
}

}  // namespace
}  // namespace regsweep::test
