// apply/session: executing plans on a FakeFileSystem: every removal a rename into
// .regsweep/trash/<run>/, journal before, audit after, run.json at the end; refusals
// (changed preconditions, paths outside the storage, mounts, the lock); dry-run; and the
// recovery of an interrupted run by the next session.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fake_store.h"
#include "unit_session.h"
#include "regsweep/apply/session.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/format.h"
#include "regsweep/util/reference.h"

namespace regsweep::test {
namespace {

namespace state = apply::state;
using apply::RunSummary;
using apply::Session;
using apply::SessionOptions;
using plan::Action;
using plan::ActionKind;
using plan::Expect;
using plan::Plan;


// The lines of a JSON-lines file, parsed.
std::vector<json> jsonl(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(json::parse(l));
  return out;
}

// The writes (FakeFileSystem::writes()) that start with `prefix`.
std::vector<std::string> writes_starting(const test::FakeFileSystem& fs, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& w : fs.writes())
    if (w.starts_with(prefix)) out.push_back(w);
  return out;
}

std::size_t index_of(const std::vector<std::string>& v, const std::string& item) {
  return static_cast<std::size_t>(std::find(v.begin(), v.end(), item) - v.begin());
}

// app:v1 and app:latest name `a`, app:v2 names `b`; the plan of `rm app:v1` removes
// tags/latest, tags/v1 and a's revision link, in that order.
struct SessionTest : ::testing::Test {
  FakeStore s;
  Image a, b;
  std::ostringstream log;

  void SetUp() override {
    a = s.add_image("app", "v1", {"shared layer", "a's layer"});
    s.set_tag("app", "latest", a.manifest);
    b = s.add_image("app", "v2", {"shared layer", "b's layer"});
  }

  Plan rm(const std::vector<std::string>& references) {
    plan::RmRequest r;
    for (const std::string& t : references) r.references.push_back(util::parse_image_reference(t));
    Plan p = plan::plan_rm(s.walk(), r);
    p.arguments = references;
    return p;
  }
  Plan rm_v1() {
    Plan p = rm({"app:v1"});
    EXPECT_EQ(p.actions.size(), 3u);
    return p;
  }

  SessionOptions options(std::int64_t now_ns = kNow) { return unit_session_options(now_ns, "regsweep rm app:v1"); }
  SessionOptions dry_run() {
    SessionOptions o = options();
    o.dry_run = true;
    return o;
  }

  std::string run_id(std::int64_t now_ns = kNow) const { return state::new_run_id(now_ns, ::getpid()); }
  std::string rename_line(const std::string& run, const std::string& path) const {
    return "rename " + s.at(path) + " -> " + s.at(state::trashed(run, path));
  }
  json record(const std::string& run) const { return json::parse(s.content(state::run_record(run))); }
  std::vector<json> audit() const { return jsonl(s.content(state::kAudit)); }
  std::multiset<std::string> audited_paths() const {
    std::multiset<std::string> out;
    for (const json& j : audit()) out.insert(j.at("path").get<std::string>());
    return out;
  }
  std::multiset<std::string> paths_of(const Plan& p) const {
    std::multiset<std::string> out;
    for (const Action& x : p.actions) out.insert(x.storage_key());
    return out;
  }
};

// --- a run -----------------------------------------------------------------------------------

TEST_F(SessionTest, MovesEveryItemIntoTheTrashAtItsOwnPath) {
  Plan p = rm_v1();
  Session session(s.store(), options(), log);
  RunSummary done = session.execute(p);
  const std::string run = run_id();
  EXPECT_EQ(done.run_id, run);
  EXPECT_EQ(done.command, "rm");
  EXPECT_EQ(done.removed, 3u);
  EXPECT_EQ(done.already_gone, 0u);
  EXPECT_EQ(done.kept_folders, 0u);

  for (const Action& x : p.actions) {
    EXPECT_FALSE(s.has(x.storage_key())) << x.storage_key();
    EXPECT_TRUE(s.has(state::trashed(run, x.storage_key()))) << x.storage_key();
  }
  // Whole folders move with their content; the revision's link file moves alone.
  EXPECT_EQ(s.content(state::trashed(run, layout::tag_current_link("app", "v1"))), a.manifest.str());
  EXPECT_EQ(s.content(state::trashed(run, layout::tag_index_dir("app", "latest", a.manifest) + "/link")), a.manifest.str());
  EXPECT_EQ(s.content(state::trashed(run, layout::revision_link("app", a.manifest))), a.manifest.str());
  EXPECT_TRUE(s.has(layout::revision_dir("app", a.manifest)));  // its folder stays, as after the API's DELETE
  EXPECT_EQ(s.content(layout::tag_current_link("app", "v2")), b.manifest.str());
  EXPECT_TRUE(s.has(layout::revision_link("app", b.manifest)));
  EXPECT_TRUE(s.has(layout::blob_data(a.manifest)));  // rm never touches a blob

  EXPECT_EQ(writes_starting(s.fs, "rename "),
            (std::vector<std::string>{rename_line(run, layout::tag_dir("app", "latest")), rename_line(run, layout::tag_dir("app", "v1")),
                                      rename_line(run, layout::revision_link("app", a.manifest))}));
  // Nothing was removed for good: rm's items all stay in the trash.
  EXPECT_TRUE(writes_starting(s.fs, "rmdir ").empty());
}

TEST_F(SessionTest, AuditHasOneLinePerRemovedPath) {
  Plan p = rm_v1();
  Session(s.store(), options(), log).execute(p);
  std::vector<json> lines = audit();
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(lines[i].dump());
    EXPECT_EQ(lines[i].at("run"), run_id());
    EXPECT_EQ(lines[i].at("command"), "rm");
    EXPECT_EQ(lines[i].at("path"), p.actions[i].storage_key());
    EXPECT_EQ(lines[i].at("action"), plan::to_string(p.actions[i].kind));
    EXPECT_EQ(lines[i].at("digest"), a.manifest.str());
    EXPECT_EQ(lines[i].at("reason"), p.actions[i].reason);
    EXPECT_EQ(lines[i].at("time"), "2026-11-24T04:05:12Z");
    EXPECT_FALSE(lines[i].contains("recovered"));
  }
}

TEST_F(SessionTest, RunRecordEndsCompleteAndJournalListsEveryItem) {
  Plan p = rm_v1();
  Session(s.store(), options(), log).execute(p);
  json r = record(run_id());
  EXPECT_EQ(r.at("status"), "complete");
  EXPECT_EQ(r.at("id"), run_id());
  EXPECT_EQ(r.at("command"), "rm");
  EXPECT_EQ(r.at("arguments"), json::array({"app:v1"}));
  EXPECT_EQ(r.at("command_line"), "regsweep rm app:v1");
  EXPECT_EQ(r.at("removed"), 3);
  EXPECT_EQ(r.at("plan"), plan::plan_to_json(p));

  std::vector<json> journal = jsonl(s.content(state::run_journal(run_id())));
  ASSERT_EQ(journal.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(journal[i].at("seq"), i);
    EXPECT_EQ(journal[i].at("path"), p.actions[i].storage_key());
    EXPECT_EQ(journal[i].at("digest"), a.manifest.str());
  }
  // run.json said "running" before the first item moved.
  std::vector<std::string> w = s.fs.writes();
  std::size_t first_record = index_of(w, "write " + s.at(state::run_record(run_id())));
  std::size_t first_rename = index_of(w, rename_line(run_id(), p.actions[0].storage_key()));
  EXPECT_LT(first_record, first_rename);
}

TEST_F(SessionTest, JournalLinePrecedesItsRenameAndAuditFollowsIt) {
  Plan p = rm_v1();
  Session(s.store(), options(), log).execute(p);
  const std::string journal = "append " + s.at(state::run_journal(run_id()));
  const std::string audit_line = "append " + s.at(state::kAudit);
  // Journal, rename, audit for each item, one item after the other.
  std::vector<std::string> seen;
  for (const std::string& w : s.fs.writes())
    if (w == journal || w == audit_line || w.starts_with("rename ")) seen.push_back(w);
  std::vector<std::string> expected;
  for (const Action& x : p.actions) {
    expected.push_back(journal);
    expected.push_back(rename_line(run_id(), x.storage_key()));
    expected.push_back(audit_line);
  }
  EXPECT_EQ(seen, expected);
}

// --- blobs ------------------------------------------------------------------------------------

struct BlobPurge : SessionTest {
  Digest orphan;
  std::uint64_t orphan_bytes = 0;
  Plan gc;
  void SetUp() override {
    SessionTest::SetUp();
    orphan = s.add_blob("nobody references me");
    orphan_bytes = s.size_of(orphan);
    ASSERT_EQ(orphan_bytes, 20u);
    s.add_upload("app", "stale", std::nullopt, "12345", 0);
    plan::GcRequest r;
    r.now_ns = kNow;
    gc = plan::plan_gc(s.walk(), r).plan;
    ASSERT_EQ(gc.actions.size(), 2u);  // the upload, the blob
  }
};

TEST_F(BlobPurge, BlobFoldersAreDeletedFromTheTrashAtTheEnd) {
  RunSummary done = Session(s.store(), options(), log).execute(gc);
  const std::string run = run_id();
  EXPECT_FALSE(s.has(layout::blob_dir(orphan)));
  EXPECT_FALSE(s.has(state::trashed(run, layout::blob_dir(orphan))));
  EXPECT_TRUE(s.below(state::trashed(run, "docker/registry/v2/blobs")).empty());
  EXPECT_TRUE(s.has(layout::blob_dir(a.manifest)));
  // Other items stay in the trash.
  EXPECT_EQ(s.content(state::trashed(run, layout::upload_dir("app", "stale") + "/data")), "12345");
  EXPECT_EQ(done.removed, 2u);
  EXPECT_EQ(done.bytes_freed, orphan_bytes);
  EXPECT_EQ(done.bytes_in_trash, 5u);
  EXPECT_EQ(record(run).at("bytes_freed"), done.bytes_freed);
  // The purge comes after the last item and before the record is marked complete.
  std::vector<std::string> w = s.fs.writes();
  std::size_t purge = index_of(w, "remove " + s.at(state::trashed(run, "docker/registry/v2/blobs")));
  ASSERT_LT(purge, w.size());
  EXPECT_LT(index_of(w, rename_line(run, layout::blob_dir(orphan))), purge);
  EXPECT_EQ(w.back(), "write " + s.at(state::run_record(run)));
}

TEST_F(BlobPurge, TrashBlobsKeepsThemInTheTrash) {
  gc.trash_blobs = true;
  RunSummary done = Session(s.store(), options(), log).execute(gc);
  const std::string run = run_id();
  EXPECT_FALSE(s.has(layout::blob_dir(orphan)));
  EXPECT_EQ(s.content(state::trashed(run, layout::blob_data(orphan))), "nobody references me");
  EXPECT_EQ(done.bytes_freed, 0u);
  EXPECT_EQ(done.bytes_in_trash, 5u + orphan_bytes);
  EXPECT_TRUE(writes_starting(s.fs, "remove ").empty());
}

TEST_F(BlobPurge, BlobThatGainedALinkAfterPlanningIsKept) {
  // A push reuses the orphan as a layer after gc planned to sweep it.
  s.add_layer_link("pusher", orphan);
  EXPECT_THROW(Session(s.store(), options(), log).execute(gc), SafetyRefusal);
  EXPECT_TRUE(s.has(layout::blob_data(orphan)));
}

// --- refusals ---------------------------------------------------------------------------------

TEST_F(SessionTest, ViolationsListsStalePreconditionsWithoutWriting) {
  Plan p = rm_v1();
  Session session(s.store(), options(), log);
  EXPECT_TRUE(session.violations(p).empty());
  s.set_tag("app", "latest", b.manifest);
  Action outside = plan::repair_key(ActionKind::RemoveTempFile, "etc/passwd", "");
  p.actions.push_back(outside);
  const std::size_t writes = s.fs.writes().size();
  std::vector<std::string> stale = session.violations(p);
  ASSERT_EQ(stale.size(), 2u) << ::testing::PrintToString(stale);
  EXPECT_NE(stale[0].find(s.at(layout::tag_current_link("app", "latest"))), std::string::npos) << stale[0];
  EXPECT_NE(stale[1].find("etc/passwd"), std::string::npos) << stale[1];
  EXPECT_EQ(s.fs.writes().size(), writes);
  EXPECT_TRUE(s.has(layout::tag_dir("app", "v1")));
}

TEST_F(SessionTest, ChangedPreconditionStopsTheRun) {
  Plan p = rm_v1();
  s.set_tag("app", "v1", b.manifest);  // pushed after the plan was made
  Session session(s.store(), options(), log);
  try {
    session.execute(p);
    FAIL() << "the moved tag was removed";
  } catch (const SafetyRefusal& e) {
    EXPECT_EQ(e.path(), s.at(layout::tag_current_link("app", "v1")));
  }
  const std::string run = run_id();
  // tags/latest went (it came first); tags/v1 and everything after it stay.
  EXPECT_TRUE(s.has(state::trashed(run, layout::tag_dir("app", "latest"))));
  EXPECT_EQ(s.content(layout::tag_current_link("app", "v1")), b.manifest.str());
  EXPECT_EQ(s.content(layout::revision_link("app", a.manifest)), a.manifest.str());
  EXPECT_EQ(writes_starting(s.fs, "rename ").size(), 1u);
  EXPECT_EQ(audited_paths(), (std::multiset<std::string>{layout::tag_dir("app", "latest")}));
  EXPECT_EQ(record(run).at("status"), "stopped");
  EXPECT_EQ(record(run).at("removed"), 1);
}

TEST_F(SessionTest, StoppedRunIsNotResumedByTheNextSession) {
  Plan p = rm_v1();
  s.set_tag("app", "v1", b.manifest);
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(p), SafetyRefusal);
  }
  Session next(s.store(), options(kNow + 60 * kSecond), log);
  EXPECT_TRUE(next.recovered().empty());
  EXPECT_EQ(s.content(layout::revision_link("app", a.manifest)), a.manifest.str());
}

TEST_F(SessionTest, ItemsAlreadyGoneAreCountedNotErrors) {
  Plan p = rm_v1();
  s.fs.remove(s.at(layout::tag_dir("app", "latest")));                 // removed by someone else
  s.fs.remove(s.at(layout::revision_link("app", a.manifest)));
  RunSummary done = Session(s.store(), options(), log).execute(p);
  EXPECT_EQ(done.removed, 1u);
  EXPECT_EQ(done.already_gone, 2u);
  EXPECT_EQ(audited_paths(), (std::multiset<std::string>{layout::tag_dir("app", "v1")}));
  EXPECT_EQ(record(run_id()).at("status"), "complete");

  // The same plan again, later: everything is gone already.
  RunSummary again = Session(s.store(), options(kNow + 60 * kSecond), log).execute(p);
  EXPECT_EQ(again.removed, 0u);
  EXPECT_EQ(again.already_gone, 3u);
  EXPECT_EQ(audit().size(), 1u);
}

TEST_F(SessionTest, DryRunWritesNothingButCounts) {
  Plan p = rm_v1();
  const auto before = s.snapshot();
  RunSummary done;
  {
    Session session(s.store(), dry_run(), log);
    done = session.execute(p);
  }
  EXPECT_TRUE(s.fs.writes().empty()) << ::testing::PrintToString(s.fs.writes());
  EXPECT_EQ(s.snapshot(), before);
  EXPECT_EQ(done.removed, 3u);
  EXPECT_EQ(done.already_gone, 0u);
}

TEST_F(SessionTest, DryRunStillRefusesAChangedPrecondition) {
  Plan p = rm_v1();
  s.set_tag("app", "latest", b.manifest);
  Session session(s.store(), dry_run(), log);
  EXPECT_THROW(session.execute(p), SafetyRefusal);
  EXPECT_TRUE(s.fs.writes().empty());
}

TEST_F(SessionTest, DryRunCountsFoldersARealRunWouldRemove) {
  plan::RmRequest r;
  r.repositories = {"app"};
  Plan p = plan::plan_rm(s.walk(), r);
  ASSERT_EQ(p.actions.size(), 3u);  // _manifests, _layers, the folder
  RunSummary dry = Session(s.store(), dry_run(), log).execute(p);
  RunSummary real = Session(s.store(), options(), log).execute(p);
  EXPECT_EQ(real.removed, 3u);
  EXPECT_EQ(dry.removed, real.removed);
  EXPECT_EQ(dry.kept_folders, real.kept_folders);
}

TEST_F(SessionTest, SecondSessionIsRefusedWhileTheFirstHoldsTheLock) {
  auto first = std::make_unique<Session>(s.store(), options(), log);
  try {
    Session second(s.store(), options(), log);
    FAIL() << "two sessions at once";
  } catch (const SafetyRefusal& e) {
    EXPECT_EQ(e.path(), s.at(state::kLock));
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos) << e.what();
  }
  // A dry run takes no lock and is not refused.
  EXPECT_NO_THROW(Session(s.store(), dry_run(), log));
  first.reset();
  EXPECT_NO_THROW(Session(s.store(), options(), log));
}

TEST_F(SessionTest, RootMustHoldARegistryStorage) {
  s.fs.add_dir("/elsewhere");
  EXPECT_THROW(Session(*storage::open_folder_store(s.fs, "/elsewhere"), options(), log), Error);
  EXPECT_THROW(Session(*storage::open_folder_store(s.fs, "/missing"), options(), log), Error);
  EXPECT_TRUE(s.fs.writes().empty());
}

TEST(CheckStoragePath, OnlyPathsBelowTheRegistrysV2) {
  const Digest d = util::sha256("x");
  for (const std::string& ok : {layout::tag_dir("team/app", "v1"), layout::revision_link("a", d), layout::blob_dir(d),
                               layout::upload_dir("a", "u"), layout::repo_dir("a/b")})
    EXPECT_NO_THROW(state::check_storage_path(ok)) << ok;
  for (const std::string bad : {"", "etc/passwd", "/r/docker/registry/v2/blobs", "../docker/registry/v2/blobs", "docker/registry/v2",
                                "docker/registry/v2/", "docker/registry/v2x/blobs", "docker/registry/v2/../../../etc",
                                "docker/registry/v2/repositories/./app", "docker/registry/v2/repositories//app",
                                "docker/registry/v2/repositories/app/..", ".regsweep/audit.jsonl"})
    EXPECT_THROW(state::check_storage_path(bad), Error) << bad;
  EXPECT_THROW(state::check_storage_path(std::string("docker/registry/v2/a\0b", 22)), Error);
}

TEST_F(SessionTest, PlanNamingAPathOutsideTheStorageIsRefusedBeforeAnyWrite) {
  for (const std::string bad : {"etc/passwd", "docker/registry/v2/../../etc", "docker/registry/v2/repositories/../../../../x",
                                "/r/docker/registry/v2/repositories/app", ".regsweep/lock"}) {
    SCOPED_TRACE(bad);
    Plan p = rm_v1();  // a good first action, then the bad one
    Action evil = plan::repair_key(ActionKind::RemoveLinkFile, bad, "");
    p.actions.insert(p.actions.begin() + 1, evil);
    Session session(s.store(), options(), log);
    const std::size_t writes = s.fs.writes().size();
    EXPECT_THROW(session.execute(p), Error);
    EXPECT_EQ(s.fs.writes().size(), writes) << s.fs.writes().back();
    EXPECT_TRUE(s.has(layout::tag_dir("app", "latest")));
  }
}

TEST_F(SessionTest, PlanNamingAnObjectWhoseNamesLeaveTheStorageIsRefusedBeforeAnyWrite) {
  std::vector<std::function<void(Action&)>> hostile = {
      [](Action& a) { a.repository = "../../../../etc"; },
      [](Action& a) { a.tag = "../../../../../etc"; },
      [](Action& a) { a.tag = "v1/current"; },  // a path inside the storage, but not one name
      [](Action& a) { a.kind = ActionKind::RemoveRepositoryPart, a.part = "../../.."; },
      [](Action& a) { a.kind = ActionKind::RemoveRepositoryPart, a.part = "_elsewhere"; },
      [](Action& a) { a.kind = ActionKind::RemoveUpload, a.upload = "../_manifests"; },
  };
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    SCOPED_TRACE(i);
    Plan p = rm_v1();
    hostile[i](p.actions[1]);
    Session session(s.store(), options(), log);
    const std::size_t writes = s.fs.writes().size();
    EXPECT_THROW(session.execute(p), Error);
    EXPECT_EQ(s.fs.writes().size(), writes);
  }
}

// --- mounts ------------------------------------------------------------------------------------

TEST_F(SessionTest, MountInsideTheRootIsRefusedBeforeAnythingMoves) {
  Plan p = rm_v1();
  s.fs.set_device(s.at(layout::repo_dir("app") + "/_manifests/revisions"), 2);
  Session session(s.store(), options(), log);
  try {
    session.execute(p);
    FAIL() << "moved across a mount";
  } catch (const SafetyRefusal& e) {
    EXPECT_EQ(e.path(), s.at(layout::revision_link("app", a.manifest)));
  }
  const std::string run = run_id();
  EXPECT_EQ(s.content(layout::revision_link("app", a.manifest)), a.manifest.str());
  EXPECT_FALSE(s.has(state::trashed(run, layout::revision_link("app", a.manifest))));
  // every item is checked before the first one moves: the tag before it stays too
  EXPECT_FALSE(s.has(state::trashed(run, layout::tag_dir("app", "v1"))));
  EXPECT_TRUE(s.has(layout::tag_dir("app", "v1")));
  EXPECT_EQ(writes_starting(s.fs, "rename ").size(), 0u);
  EXPECT_EQ(audit().size(), 0u);
}

TEST_F(SessionTest, MountRefusalIsRecordedAsStopped) {
  Plan p = rm_v1();
  s.fs.set_device(s.at(layout::repo_dir("app") + "/_manifests/revisions"), 2);
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(p), SafetyRefusal);
  }
  EXPECT_EQ(record(run_id()).at("status"), "stopped");
  Session next(s.store(), options(kNow + 60 * kSecond), log);
  EXPECT_TRUE(next.recovered().empty());
}

TEST_F(SessionTest, ItemThatIsItselfAMountPointIsRefused) {
  Plan p = rm_v1();
  s.fs.set_device(s.at(layout::tag_dir("app", "v1")), 2);
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(p), SafetyRefusal);
  }
  EXPECT_EQ(s.content(layout::tag_current_link("app", "v1")), a.manifest.str());
  EXPECT_NO_THROW(Session(s.store(), options(kNow + 60 * kSecond), log));
}

// --- recovery ----------------------------------------------------------------------------------

TEST_F(SessionTest, InterruptedRunIsFinishedByTheNextSession) {
  Plan p = rm_v1();
  const std::string run = run_id();
  // The second rename fails (as a kill there would stop it).
  s.fs.fail_writes_matching("rename " + s.at(layout::tag_dir("app", "v1")) + " ");
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(p), Error);
  }
  EXPECT_TRUE(s.has(state::trashed(run, layout::tag_dir("app", "latest"))));
  EXPECT_TRUE(s.has(layout::tag_dir("app", "v1")));
  EXPECT_EQ(record(run).at("status"), "running");
  EXPECT_EQ(audit().size(), 1u);

  auto next = std::make_unique<Session>(s.store(), options(kNow + 60 * kSecond), log);
  ASSERT_EQ(next->recovered().size(), 1u);
  const RunSummary done = next->recovered()[0];
  EXPECT_EQ(done.run_id, run);
  EXPECT_EQ(done.command, "rm");
  EXPECT_EQ(done.arguments, std::vector<std::string>{"app:v1"});
  EXPECT_EQ(done.removed, 3u);
  EXPECT_EQ(done.already_gone, 0u);
  for (const Action& x : p.actions) {
    EXPECT_FALSE(s.has(x.storage_key())) << x.storage_key();
    EXPECT_TRUE(s.has(state::trashed(run, x.storage_key()))) << x.storage_key();
  }
  EXPECT_EQ(record(run).at("status"), "complete");
  EXPECT_EQ(audited_paths(), paths_of(p));  // each once
  for (const json& j : audit()) EXPECT_EQ(j.at("run"), run);
  EXPECT_NE(log.str().find("finishing run " + run), std::string::npos) << log.str();

  // And the session after that has nothing to finish.
  next.reset();
  next = std::make_unique<Session>(s.store(), options(kNow + 120 * kSecond), log);
  EXPECT_TRUE(next->recovered().empty());
  EXPECT_EQ(audit().size(), 3u);
}

TEST_F(SessionTest, KillBetweenRenameAndAuditIsAuditedOnRecovery) {
  Plan p = rm_v1();
  const std::string run = run_id();
  s.fs.fail_writes_matching("append " + s.at(state::kAudit));  // the first item moved, its audit line is lost
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(p), Error);
  }
  EXPECT_TRUE(s.has(state::trashed(run, layout::tag_dir("app", "latest"))));
  EXPECT_TRUE(audit().empty());

  Session next(s.store(), options(kNow + 60 * kSecond), log);
  ASSERT_EQ(next.recovered().size(), 1u);
  EXPECT_EQ(next.recovered()[0].removed, 3u);
  EXPECT_EQ(audited_paths(), paths_of(p));
  for (const json& j : audit())
    EXPECT_EQ(j.value("recovered", false), j.at("path") == layout::tag_dir("app", "latest")) << j.dump();
  EXPECT_EQ(record(run).at("status"), "complete");
}

TEST_F(BlobPurge, KillDuringThePurgeIsFinishedOnRecovery) {
  const std::string run = run_id();
  s.fs.fail_writes_matching("remove " + s.at(state::trashed(run, "docker/registry/v2/blobs")));
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(gc), Error);
  }
  EXPECT_TRUE(s.has(state::trashed(run, layout::blob_data(orphan))));
  EXPECT_EQ(record(run).at("status"), "running");

  Session next(s.store(), options(kNow + 60 * kSecond), log);
  ASSERT_EQ(next.recovered().size(), 1u);
  EXPECT_EQ(next.recovered()[0].removed, 2u);
  EXPECT_EQ(next.recovered()[0].bytes_freed, orphan_bytes);
  EXPECT_FALSE(s.has(state::trashed(run, layout::blob_dir(orphan))));
  EXPECT_EQ(audited_paths(), paths_of(gc));
  EXPECT_EQ(record(run).at("status"), "complete");
}

TEST_F(SessionTest, FolderRemovedJustBeforeAKillIsAuditedOnRecovery) {
  s.fs.add_dir(s.at(layout::repo_dir("empty")));
  Plan p;
  p.command = "gc";
  p.actions.push_back(plan::remove_empty_folder("empty", "repository folder left empty"));
  s.fs.fail_writes_matching("append " + s.at(state::kAudit));
  {
    Session session(s.store(), options(), log);
    EXPECT_THROW(session.execute(p), Error);
  }
  EXPECT_FALSE(s.has(layout::repo_dir("empty")));
  Session next(s.store(), options(kNow + 60 * kSecond), log);
  ASSERT_EQ(next.recovered().size(), 1u);
  EXPECT_EQ(next.recovered()[0].removed, 1u);
  EXPECT_EQ(audited_paths(), paths_of(p));
}

}  // namespace
}  // namespace regsweep::test
