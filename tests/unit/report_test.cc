// plan/report: the reclaimable-space report on a two-repository tree.
#include <gtest/gtest.h>

#include "fake_store.h"
#include "regsweep/plan/report.h"
#include "regsweep/util/format.h"

namespace regsweep::test {
namespace {

using plan::StorageReport;
using storage::Model;

constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kReportNow = 1795491925LL * kSecond;  // 2026-11-24T03:45:25Z

std::vector<Digest> without(std::vector<Digest> v, const Digest& d) {
  v.erase(std::remove(v.begin(), v.end(), d), v.end());
  return v;
}

// Two repositories sharing a layer, an untagged old image in "a", orphans, uploads.
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a = s.add_image("a", "v1", {"shared layer", "only in a"});
    a_old = s.put_image("a:v1 before", {"only in the old a"});
    s.link_image("a", a_old);  // was a:v1 before the tag moved
    s.add_link(layout::tag_index_dir("a", "v1", a_old.manifest) + "/link", a_old.manifest);
    b = s.add_image("team/b", "latest", {"shared layer", "only in b, longer"});
    shared = a.layers[0];
    ASSERT_EQ(shared, b.layers[0]);
    orphan1 = s.add_blob("an orphan");
    orphan2 = s.add_blob("another orphan, of a different size");
    s.fs.add_dir(s.at(layout::blob_dir(util::sha256("half-written blob"))));  // no data: not counted

    s.add_upload("a", "old-started", util::rfc3339_utc(kReportNow - 8 * kDay), std::string(10, 'x'), kReportNow - kHour);
    s.add_upload("a", "new-started", util::rfc3339_utc(kReportNow - kHour), std::string(20, 'x'), kReportNow - 30 * kDay);
    s.add_upload("team/b", "old-mtime", std::nullopt, std::string(40, 'x'), kReportNow - 8 * kDay);
    s.add_upload("team/b", "new-mtime", std::nullopt, std::string(80, 'x'), kReportNow - kHour);
    model = s.walk();
  }

  StorageReport report(std::int64_t max_age_s = 168 * 3600) {
    return plan::build_report(model, plan::ReportOptions{kReportNow, max_age_s});
  }

  const plan::RepositoryUsage& usage(const StorageReport& r, const std::string& name) {
    for (const auto& u : r.repositories)
      if (u.name == name) return u;
    throw std::runtime_error("no repository " + name);
  }

  FakeStore s;
  Image a, a_old, b;
  Digest shared, orphan1, orphan2;
  Model model;
};

TEST_F(ReportTest, NotesOnlyWhereTheStorageCannotBeRead) {
  EXPECT_TRUE(report().notes.empty());
  // team/b's tagged manifest truncated: gc would keep every blob team/b links; say so once.
  s.fs.add_file(s.at(layout::blob_data(b.manifest)), "");
  model = s.walk();
  StorageReport r = report();
  ASSERT_EQ(r.notes.size(), 1u) << ::testing::PrintToString(r.notes);
  EXPECT_NE(r.notes[0].find("team/b: manifest " + b.manifest.str()), std::string::npos) << r.notes[0];
}

TEST_F(ReportTest, AllBlobs) {
  StorageReport r = report();
  std::set<std::string> all = strs(image_blobs(a) + image_blobs(a_old) + image_blobs(b));
  all.insert(orphan1.str());
  all.insert(orphan2.str());
  std::uint64_t bytes = 0;
  for (const auto& d : all) bytes += s.size_of(*Digest::parse(d));
  EXPECT_EQ(r.blobs.count, all.size());
  EXPECT_EQ(r.blobs.count, 12u);  // 4 + 3 + 3 own, 2 orphans; the shared layer once
  EXPECT_EQ(r.blobs.bytes, bytes);
}

TEST_F(ReportTest, Unreferenced) {
  StorageReport r = report();
  EXPECT_EQ(r.unreferenced.count, 2u);
  EXPECT_EQ(r.unreferenced.bytes, s.size_of(orphan1) + s.size_of(orphan2));
  EXPECT_EQ(strs(r.unreferenced_digests), strs({orphan1, orphan2}));
  EXPECT_EQ(r.unreferenced_digests.size(), 2u);
}

TEST_F(ReportTest, UntaggedOnTop) {
  StorageReport r = report();
  EXPECT_EQ(r.untagged_manifests, 1u);
  EXPECT_EQ(r.untagged.count, 3u);  // the old manifest, its config, its own layer
  EXPECT_EQ(r.untagged.bytes, s.size_of(image_blobs(a_old)));
}

TEST_F(ReportTest, ReferencedByTags) {
  StorageReport r = report();
  std::set<std::string> tagged = strs(image_blobs(a) + image_blobs(b));
  std::uint64_t bytes = 0;
  for (const auto& d : tagged) bytes += s.size_of(*Digest::parse(d));
  EXPECT_EQ(r.referenced_by_tags.count, tagged.size());
  EXPECT_EQ(r.referenced_by_tags.bytes, bytes);
  // Every blob is tagged, untagged-only or unreferenced.
  EXPECT_EQ(r.referenced_by_tags.count + r.untagged.count + r.unreferenced.count, r.blobs.count);
  EXPECT_EQ(r.referenced_by_tags.bytes + r.untagged.bytes + r.unreferenced.bytes, r.blobs.bytes);
}

TEST_F(ReportTest, PerRepositoryExclusiveAndShared) {
  StorageReport r = report();
  ASSERT_EQ(r.repositories.size(), 2u);
  EXPECT_EQ(r.repositories[0].name, "a");
  EXPECT_EQ(r.repositories[1].name, "team/b");

  const plan::RepositoryUsage& ua = usage(r, "a");
  EXPECT_EQ(ua.tags, 1u);
  EXPECT_EQ(ua.revisions, 2u);
  EXPECT_EQ(ua.untagged_revisions, 1u);
  EXPECT_EQ(ua.bytes_referenced, s.size_of(image_blobs(a)) + s.size_of(image_blobs(a_old)));
  EXPECT_EQ(ua.bytes_exclusive, s.size_of(without(image_blobs(a), shared)) + s.size_of(image_blobs(a_old)));
  EXPECT_EQ(ua.bytes_shared(), s.size_of(shared));

  const plan::RepositoryUsage& ub = usage(r, "team/b");
  EXPECT_EQ(ub.tags, 1u);
  EXPECT_EQ(ub.revisions, 1u);
  EXPECT_EQ(ub.untagged_revisions, 0u);
  EXPECT_EQ(ub.bytes_referenced, s.size_of(image_blobs(b)));
  EXPECT_EQ(ub.bytes_exclusive, s.size_of(without(image_blobs(b), shared)));
  EXPECT_EQ(ub.bytes_shared(), s.size_of(shared));
}

TEST_F(ReportTest, RepositoryUsageIsTheReportsOwn) {
  StorageReport r = report();
  std::vector<plan::RepositoryUsage> u = plan::repository_usage(model);
  ASSERT_EQ(u.size(), r.repositories.size());
  for (std::size_t i = 0; i < u.size(); ++i) {
    EXPECT_EQ(u[i].name, r.repositories[i].name);
    EXPECT_EQ(u[i].bytes_referenced, r.repositories[i].bytes_referenced);
    EXPECT_EQ(u[i].bytes_exclusive, r.repositories[i].bytes_exclusive);
    EXPECT_EQ(u[i].untagged_revisions, r.repositories[i].untagged_revisions);
  }
}

TEST_F(ReportTest, StaleUploadsByStartedAtOrByMtime) {
  StorageReport r = report();
  EXPECT_EQ(r.uploads.count, 4u);
  EXPECT_EQ(r.uploads.bytes, 10u + 20u + 40u + 80u);
  // old-started (by startedat, although written recently) and old-mtime (no startedat).
  EXPECT_EQ(r.stale_uploads.count, 2u);
  EXPECT_EQ(r.stale_uploads.bytes, 10u + 40u);
}

TEST_F(ReportTest, UploadAgeIsAnOption) {
  StorageReport r = report(/*max_age_s=*/1800);  // everything older than 30 minutes
  EXPECT_EQ(r.stale_uploads.count, 4u);
  EXPECT_EQ(r.stale_uploads.bytes, 150u);
  StorageReport none = report(/*max_age_s=*/365 * 24 * 3600);
  EXPECT_EQ(none.stale_uploads.count, 0u);
}

TEST(UploadIsStale, Boundary) {
  storage::Upload up;
  up.started_at_ns = kReportNow - 7 * kDay;
  up.newest_mtime_ns = kReportNow;
  EXPECT_FALSE(plan::upload_is_stale(up, kReportNow, 7 * 24 * 3600));  // exactly the age: not yet
  EXPECT_TRUE(plan::upload_is_stale(up, kReportNow + 1, 7 * 24 * 3600));
  up.started_at_ns.reset();  // by its files now
  EXPECT_FALSE(plan::upload_is_stale(up, kReportNow, 7 * 24 * 3600));
  EXPECT_TRUE(plan::upload_is_stale(up, kReportNow + 7 * kDay + 1, 7 * 24 * 3600));
}

TEST(Report, EmptyStore) {
  FakeStore s;
  StorageReport r = plan::build_report(s.walk(), plan::ReportOptions{kReportNow, 3600});
  EXPECT_EQ(r.blobs.count, 0u);
  EXPECT_EQ(r.unreferenced.count, 0u);
  EXPECT_EQ(r.untagged_manifests, 0u);
  EXPECT_TRUE(r.repositories.empty());
}

TEST(Report, MultiArchChildrenAreNotUntagged) {
  FakeStore s;
  Image amd = s.put_image("amd64", {"amd64 layer"});
  Image arm = s.put_image("arm64", {"arm64 layer"});
  s.add_index("app", "v1", {amd, arm});
  StorageReport r = plan::build_report(s.walk(), plan::ReportOptions{kReportNow, 3600});
  EXPECT_EQ(r.untagged_manifests, 0u);
  EXPECT_EQ(r.untagged.count, 0u);
  EXPECT_EQ(r.unreferenced.count, 0u);
  EXPECT_EQ(r.referenced_by_tags.count, r.blobs.count);
  ASSERT_EQ(r.repositories.size(), 1u);
  EXPECT_EQ(r.repositories[0].revisions, 3u);
  EXPECT_EQ(r.repositories[0].untagged_revisions, 0u);
}

}  // namespace
}  // namespace regsweep::test

namespace regsweep::test {

// ls shows an index's platforms: for an index of indexes, those of the inner indexes' entries
// (the outer entries' platforms alone hid linux/s390x here).
TEST(IndexPlatforms, AnIndexOfIndexesOffersItsInnerIndexesPlatforms) {
  FakeStore s;
  Image a = s.put_image("a", {"a"}), b = s.put_image("b", {"b"}), c = s.put_image("c", {"c"});
  Digest inner1 = s.put_index({a.manifest, b.manifest});                                       // linux/amd64, linux/arm64/v8
  Digest inner2 = s.put_index({c.manifest}, storage::media_type::kOciIndex, {{"s390x", ""}});  // linux/s390x
  Digest outer = s.put_index({inner1, inner2});  // its own entries say linux/amd64, linux/arm64/v8
  Digest twice = s.put_index({outer, a.manifest});  // three levels; a platform seen again is listed once
  for (const Digest& d : {a.manifest, b.manifest, c.manifest, inner1, inner2, outer, twice}) s.add_revision("multi", d);
  storage::Model m = s.walk();
  EXPECT_EQ(plan::index_platforms(m, inner1), (std::vector<std::string>{"linux/amd64", "linux/arm64/v8"}));
  EXPECT_EQ(plan::index_platforms(m, outer), (std::vector<std::string>{"linux/amd64", "linux/arm64/v8", "linux/s390x"}));
  EXPECT_EQ(plan::index_platforms(m, twice), (std::vector<std::string>{"linux/amd64", "linux/arm64/v8", "linux/s390x"}));
  EXPECT_TRUE(plan::index_platforms(m, a.manifest).empty());
}

}  // namespace regsweep::test
