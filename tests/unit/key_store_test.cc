// apply on a store that has nothing but keys (no rename, folders, append or lock: a bucket).
// An item is copied into the run's trash, a "copied" line journaled, then deleted; the lock,
// the journal and the audit log are objects. A run stopped after each of its mutations in
// turn is finished by the next session, ending exactly as an uninterrupted run does, and
// nothing the plan did not name is lost.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include "fake_key_store.h"
#include "fake_store.h"
#include "unit_session.h"
#include "regsweep/apply/mutation_hook.h"
#include "regsweep/apply/restore.h"
#include "regsweep/apply/session.h"
#include "regsweep/apply/state.h"
#include "regsweep/apply/state_store.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/clock.h"
#include "regsweep/util/reference.h"

namespace regsweep::test {
namespace {

namespace state = apply::state;
using apply::RunSummary;
using apply::Session;
using apply::SessionOptions;
using plan::Plan;
using Objects = std::map<std::string, FakeKeyStore::Object>;

// Thrown by the mutation hook: the run stops right there, as a kill would stop it.
struct Stopped {};

class StopAfter {
 public:
  explicit StopAfter(int n) : left_(n) {
    apply::set_mutation_hook([this] {
      if (left_ > 0 && --left_ == 0) throw Stopped{};
    });
  }
  ~StopAfter() { apply::set_mutation_hook({}); }

 private:
  int left_;
};

struct KeyStoreRun : ::testing::Test {
  FakeStore tree;  // the registry's tree, built by hand; copied key by key into a bucket
  Image a, b, loose;
  Digest orphan;
  std::ostringstream log;

  void SetUp() override {
    a = tree.add_image("app", "v1", {"shared layer", "a's layer"});
    tree.set_tag("app", "latest", a.manifest);
    b = tree.add_image("app", "v2", {"shared layer", "b's layer"});
    loose = tree.add_image("old", "gone", {"old layer"});
    tree.fs.remove(tree.at(layout::tag_dir("old", "gone")));  // untagged: gc -m takes it
    orphan = tree.add_blob("nobody references me");
    tree.add_upload("app", "stale", std::nullopt, "12345", 0);
  }

  Objects bucket() const {
    Objects out;
    for (const auto& [path, node] : tree.fs.nodes())
      if (node.type == storage::FileType::Regular) out[path.substr(tree.root.size() + 1)] = {node.content, node.mtime_ns};
    return out;
  }

  std::size_t window = 0;
  SessionOptions options() const {
    SessionOptions o = unit_session_options(kNow, "regsweep test");
    o.window = window;
    return o;
  }

  Plan rm_v1() {
    plan::RmRequest r;
    r.references.push_back(util::parse_image_reference("app:v1"));
    Plan p = plan::plan_rm(tree.walk(), r);
    p.command = "rm";
    return p;
  }
  Plan gc_m(bool trash_blobs) {
    plan::GcRequest r;
    r.delete_untagged = true;
    r.prune_empty_repos = true;
    r.trash_blobs = trash_blobs;
    r.now_ns = kNow;
    Plan p = plan::plan_gc(tree.walk(), r).plan;
    p.command = "gc";
    return p;
  }

  // Runs `p` on a fresh bucket, stopped after its `stop`-th mutation (0: not stopped), then
  // opens the next session, which finishes it. Returns the bucket.
  Objects run(const Plan& p, int stop, bool* stopped = nullptr) {
    FakeKeyStore keys;
    keys.objects() = bucket();
    storage::Model model = tree.walk();  // the same tree: the walk before a blob sweep
    {
      StopAfter hook(stop);
      try {
        Session(keys, options(), log).execute(p, &model);
        if (stopped) *stopped = false;
      } catch (const Stopped&) {
        if (stopped) *stopped = true;
      }
    }
    Session next(keys, options(), log);  // finishes what was interrupted
    return keys.objects();
  }

  // The keys of `o` outside regsweep's state, or inside it but not the logs and lock.
  static Objects storage_keys(const Objects& o) {
    Objects out;
    for (const auto& [k, v] : o)
      if (!k.starts_with(".regsweep/")) out[k] = v;
    return out;
  }
  static Objects trash_keys(const Objects& o) {
    Objects out;
    for (const auto& [k, v] : o)
      if (k.starts_with(".regsweep/trash/") && k.find("/journal.jsonl.d/") == std::string::npos) out[k] = v;
    return out;
  }
  // The audit log's paths, each with how often it was audited.
  static std::multiset<std::string> audited(const Objects& o) {
    FakeKeyStore copy;
    copy.objects() = o;
    std::multiset<std::string> out;
    apply::open_state_store(copy)->for_each_line(state::kAudit, [&](const json& j) { out.insert(j.at("path").get<std::string>()); });
    return out;
  }
};

// Equal keys and contents; the difference is printed.
::testing::AssertionResult same(const Objects& x, const Objects& y) {
  std::string diff;
  for (const auto& [k, v] : x)
    if (auto it = y.find(k); it == y.end() || it->second.content != v.content) diff += " -" + k;
  for (const auto& [k, v] : y)
    if (!x.count(k)) diff += " +" + k;
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "differ:" << diff;
}

std::string run_record_key() { return state::run_record(state::new_run_id(kNow, ::getpid())); }

TEST_F(KeyStoreRun, CopiesIntoTheTrashThenDeletesAndKeepsStateInObjects) {
  FakeKeyStore keys;
  keys.objects() = bucket();
  Plan p = rm_v1();
  ASSERT_EQ(p.actions.size(), 3u);
  RunSummary done = Session(keys, options(), log).execute(p);
  EXPECT_EQ(done.removed, 3u);
  const std::string run = state::new_run_id(kNow, ::getpid());
  const std::string current = layout::tag_current_link("app", "v1");
  EXPECT_EQ(keys.objects().count(current), 0u);
  ASSERT_EQ(keys.objects().count(state::trashed(run, current)), 1u);
  EXPECT_EQ(keys.objects().at(state::trashed(run, current)).content, a.manifest.str());
  EXPECT_EQ(json::parse(keys.objects().at(state::run_record(run)).content).at("status"), "complete");
  // The copy, the "copied" journal line, then the delete; never a rename.
  const std::vector<std::string>& w = keys.writes();
  auto at = [&](const std::string& what) { return std::find(w.begin(), w.end(), what) - w.begin(); };
  const auto copy_at = at("copy " + current + " -> " + state::trashed(run, current)), remove_at = at("remove " + current);
  ASSERT_LT(copy_at, static_cast<long>(w.size()));
  ASSERT_LT(remove_at, static_cast<long>(w.size()));
  EXPECT_LT(copy_at, remove_at);
  EXPECT_TRUE(std::any_of(w.begin() + copy_at, w.begin() + remove_at,
                          [&](const std::string& x) { return x.starts_with("put " + state::run_journal(run) + ".d/"); }));
  EXPECT_EQ(audited(keys.objects()).size(), 3u);
  // The lock object is gone with the session; the journal has a "copied" line per item.
  for (const auto& [k, v] : keys.objects()) EXPECT_FALSE(k.starts_with(".regsweep/locks/")) << k;
  FakeKeyStore& store = keys;
  auto logs = apply::open_state_store(store);
  int copied = 0;
  logs->for_each_line(state::run_journal(run), [&](const json& j) { copied += j.value("copied", false) ? 1 : 0; });
  EXPECT_EQ(copied, 3);
}

// On a bucket every request counts: the items of a window that are siblings (a repository's
// revisions, its _layers, a tag's neighbours) are found in one listing of their folder, a
// tag's link is checked by its ETag, and a copy takes the source's size and time from the
// listing (no HEAD), except for a tag's links, whose time a restore may have kept elsewhere.
TEST_F(KeyStoreRun, SiblingsAreFoundInOneListingAndCopiedWithoutALook) {
  for (const char* tag : {"t0", "t1", "t2", "t3"}) tree.add_image("many", tag, {std::string("layer of ") + tag});
  for (const char* tag : {"t1", "t2", "t3"}) tree.fs.remove(tree.at(layout::tag_dir("many", tag)));
  FakeKeyStore keys;
  keys.objects() = bucket();
  storage::Model model = tree.walk();
  Plan p = gc_m(/*trash_blobs=*/false);
  const std::string revisions = std::string(storage::parent_key(layout::revision_dir("many", a.manifest)));
  std::size_t revision_items = 0;
  for (const auto& action : p.actions) revision_items += action.storage_key().starts_with(revisions + "/") ? 1 : 0;
  ASSERT_EQ(revision_items, 3u);
  RunSummary done = Session(keys, options(), log).execute(p, &model);
  EXPECT_GT(done.removed, 6u);
  const std::vector<std::string>& listed = keys.listed();
  EXPECT_EQ(std::count(listed.begin(), listed.end(), revisions), 1) << "one listing for the three revisions";
  for (const std::string& prefix : listed) EXPECT_FALSE(prefix.starts_with(revisions + "/")) << "listed alone: " << prefix;
  EXPECT_EQ(keys.heads(), 0u) << "a copy looked at its source";
  for (const auto& action : p.actions)
    if (action.storage_key().starts_with(revisions + "/")) {
      EXPECT_EQ(keys.objects().count(action.storage_key() + "/link"), 0u);
    }

  // rm of a tag: its link is proven by the listing's ETag (not read); its copy looks (HEAD).
  FakeKeyStore tags;
  tags.objects() = bucket();
  Session(tags, options(), log).execute(rm_v1());
  const std::string current = layout::tag_current_link("app", "v1");
  EXPECT_EQ(std::count(tags.read_keys().begin(), tags.read_keys().end(), current), 0) << "the tag's link was read";
  EXPECT_GT(tags.heads(), 0u);
  EXPECT_EQ(tags.objects().count(current), 0u);
}

TEST_F(KeyStoreRun, ASecondSessionIsRefusedWhileTheLockObjectIsThere) {
  FakeKeyStore keys;
  keys.objects() = bucket();
  Session first(keys, options(), log);
  EXPECT_THROW(Session(keys, options(), log), SafetyRefusal);
}

// The lock object of a holder that may still run refuses; one not refreshed for over 30
// minutes, or left by a process of this host that is gone, is taken over. With or without a
// store that honours If-None-Match (then the per-holder objects and a listing decide).
TEST_F(KeyStoreRun, ALockObjectRefusesWhileItsHolderMayRunAndIsTakenOverWhenStale) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto lock_json = [&](std::string h, int pid, std::int64_t at) {
    return nlohmann::json({{"holder", "pid " + std::to_string(pid) + ": other"}, {"host", h}, {"pid", pid}, {"time", "then"}, {"time_ns", at}}).dump();
  };
  const std::int64_t now = util::now_ns();
  for (bool conditional : {true, false}) {
    SCOPED_TRACE(conditional ? "conditional puts" : "no conditional puts");
    const std::string key = conditional ? state::kLock : ".regsweep/locks/00000000000000000001-00000001-1";
    struct Case {
      std::string host;
      int pid;
      std::int64_t at;
      bool refused;
    };
    for (const Case& c : {Case{"elsewhere", 1, now, true}, Case{"elsewhere", 1, now - 31LL * 60 * 1'000'000'000, false},
                          Case{host, ::getpid(), now, true}, Case{host, 0x3ffffff0, now, false}}) {
      SCOPED_TRACE(c.host + " " + std::to_string(c.pid));
      FakeKeyStore keys;
      keys.conditional_puts = conditional;
      keys.objects() = bucket();
      keys.objects()[key] = FakeKeyStore::Object{lock_json(c.host, c.pid, c.at), 0};
      if (c.refused) {
        try {
          Session s(keys, options(), log);
          ADD_FAILURE() << "not refused";
        } catch (const SafetyRefusal& e) {
          EXPECT_NE(std::string(e.what()).find("other on " + c.host), std::string::npos) << e.what();
          EXPECT_NE(e.path().find("fake://bucket/.regsweep/lock"), std::string::npos) << e.path();
        }
        EXPECT_EQ(keys.objects().count(key), 1u) << "a held lock is never removed";
      } else {
        { Session s(keys, options(), log); }
        for (const auto& [k, v] : keys.objects()) EXPECT_FALSE(k.starts_with(".regsweep/lock")) << k << " left behind";
      }
    }
  }
}

// Registries on other machines cannot be seen: without the operator's statement
// (--registry-stopped), a session on a bucket refuses, and only regsweep's lock was touched.
TEST_F(KeyStoreRun, OnABucketASessionNeedsTheStatementThatNoRegistryServesIt) {
  FakeKeyStore keys;
  keys.objects() = bucket();
  SessionOptions o = options();
  o.registry_stopped = false;
  try {
    Session s(keys, o, log);
    ADD_FAILURE() << "not refused";
  } catch (const SafetyRefusal& e) {
    EXPECT_NE(std::string(e.what()).find("another machine"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("--registry-stopped"), std::string::npos) << e.hint();
  }
  EXPECT_TRUE(same(storage_keys(keys.objects()), storage_keys(bucket())));
  o.dry_run = true;  // a dry run needs no statement
  EXPECT_NO_THROW(Session(keys, o, log));
}

// A key the store refuses to delete in a batch fails its item only: the others of the batch are
// removed and audited, the refused one is journaled as failed and never counted, the run
// stays unfinished, and the next session removes what is left.
TEST_F(KeyStoreRun, AKeyRefusedInABatchFailsItsItemAndTheNextSessionFinishesIt) {
  FakeKeyStore keys;
  keys.objects() = bucket();
  const Plan p = gc_m(/*trash_blobs=*/false);
  storage::Model model = tree.walk();
  const std::string refused = layout::blob_data(orphan);
  keys.refuse_removal.insert(refused);
  try {
    Session(keys, options(), log).execute(p, &model);
    ADD_FAILURE() << "a refused key went unnoticed";
  } catch (const storage::PartialRemoval& e) {
    EXPECT_NE(e.path().find(refused), std::string::npos) << e.path();
  }
  EXPECT_EQ(keys.objects().count(refused), 1u);
  EXPECT_EQ(audited(keys.objects()).count(layout::blob_dir(orphan)), 0u) << "a failed item is never audited as removed";
  const std::string id = state::new_run_id(kNow, ::getpid());
  int failed = 0;
  apply::open_state_store(keys)->for_each_line(state::run_journal(id), [&](const json& j) { failed += j.contains("failed"); });
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(json::parse(keys.objects().at(state::run_record(id)).content).at("status"), "running");
  keys.refuse_removal.clear();
  { Session next(keys, options(), log); }
  EXPECT_EQ(keys.objects().count(refused), 0u);
  EXPECT_EQ(json::parse(keys.objects().at(state::run_record(id)).content).at("status"), "complete");
  EXPECT_TRUE(same(storage_keys(keys.objects()), storage_keys(run(p, 0))));
}

// The heart of it: every mutation point of three plans (a tag removal, gc -m with blobs
// deleted outright, gc -m with blobs kept in the trash).
TEST_F(KeyStoreRun, StoppedAfterAnyMutationTheNextSessionFinishesTheRunAndLosesNothing) {
  for (int variant = 0; variant < 6; ++variant) {
    // Windows of one action (a stop between any two items) and of the default size.
    window = variant % 2 ? 0 : 1;
    SCOPED_TRACE("plan " + std::to_string(variant / 2) + (window ? ", windows of one action" : ""));
    const Plan p = variant / 2 == 0 ? rm_v1() : gc_m(variant / 2 == 2);
    ASSERT_FALSE(p.actions.empty());
    const Objects before = bucket();
    const Objects whole = run(p, 0);
    // What the plan names, and nothing else, left the storage.
    for (const auto& [k, v] : before) {
      bool named = false;
      for (const plan::Action& x : p.actions) named = named || k == x.storage_key() || k.starts_with(x.storage_key() + "/");
      if (!named) EXPECT_EQ(whole.count(k), 1u) << k << " was not in the plan and went";
      else EXPECT_EQ(whole.count(k), 0u) << k << " was in the plan and stayed";
    }
    int points = 0;
    for (int stop = 1;; ++stop) {
      SCOPED_TRACE("stopped after mutation " + std::to_string(stop));
      bool stopped = false;
      const Objects after = run(p, stop, &stopped);
      if (!stopped) break;
      ++points;
      EXPECT_TRUE(same(storage_keys(after), storage_keys(whole)));
      EXPECT_TRUE(same(trash_keys(after), trash_keys(whole)));
      EXPECT_EQ(audited(after), audited(whole));
      ASSERT_EQ(after.count(run_record_key()), 1u);
      EXPECT_EQ(json::parse(after.at(run_record_key()).content).at("status"), "complete");
    }
    // Per window: journal lines, copies, "copied" lines, the delete, the audit lines.
    EXPECT_GE(points, window ? static_cast<int>(p.actions.size()) : 4);
  }
}

TEST_F(KeyStoreRun, ARestoreStoppedAnywhereIsFinishedAndPutsEverythingBack) {
  const Plan p = gc_m(/*trash_blobs=*/true);
  const Objects before = bucket();
  FakeKeyStore removed;
  removed.objects() = bucket();
  storage::Model model = tree.walk();
  Session(removed, options(), log).execute(p, &model);
  const std::string run = state::new_run_id(kNow, ::getpid());
  for (int stop = 0;; ++stop) {
    SCOPED_TRACE("stopped after mutation " + std::to_string(stop));
    FakeKeyStore keys;
    keys.objects() = removed.objects();
    SessionOptions later = options();
    later.now_ns = kNow + 60 * kSecond;
    bool stopped = false;
    {
      StopAfter hook(stop);
      try {
        Session session(keys, later, log);
        apply::RestorePlan rp = apply::plan_restore(session.store(), session.state(), run, false);
        ASSERT_TRUE(rp.conflicts.empty());
        session.execute(rp.plan);
      } catch (const Stopped&) {
        stopped = true;
      }
    }
    Session next(keys, later, log);
    EXPECT_TRUE(same(storage_keys(keys.objects()), storage_keys(before)));
    if (stop > 0 && !stopped) break;
  }
}

// A prefix names a folder on every store: tags/v1 never takes or lists tags/v10 with it.
TEST(StorePrefix, ATagFolderIsNotThePrefixOfAnotherTag) {
  FakeStore tree;
  Image a = tree.add_image("app", "v1", {"l"});
  tree.set_tag("app", "v10", a.manifest);
  FakeKeyStore keys;
  for (const auto& [path, node] : tree.fs.nodes())
    if (node.type == storage::FileType::Regular) keys.objects()[path.substr(tree.root.size() + 1)] = {node.content, 0};
  const std::string v1 = layout::tag_dir("app", "v1"), v10 = layout::tag_dir("app", "v10");
  for (storage::Store* store : {&tree.store(), static_cast<storage::Store*>(&keys)}) {
    SCOPED_TRACE(store->location());
    std::vector<std::string> listed;
    store->list(v1, [&](const storage::KeyInfo& k) { listed.emplace_back(k.key); });
    ASSERT_FALSE(listed.empty());
    for (const std::string& k : listed) EXPECT_TRUE(k.starts_with(v1 + "/")) << k;
    store->remove_prefix(v1);
    EXPECT_FALSE(store->stat(v1).exists());
    EXPECT_EQ(store->stat(v10).type, storage::FileType::Directory);
    EXPECT_EQ(store->stat(layout::tag_current_link("app", "v10")).type, storage::FileType::Regular);
  }
}

}  // namespace
}  // namespace regsweep::test
