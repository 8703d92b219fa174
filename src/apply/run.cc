#include "run.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <set>

#include "regsweep/apply/mutation_hook.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/storage/link.h"
#include "regsweep/util/format.h"
#include "regsweep/util/parallel.h"

namespace regsweep::apply::detail {

using nlohmann::json;
using plan::Action;
using plan::ActionKind;
using plan::Expect;

namespace {
std::function<void()>& mutation_hook() {
  static std::function<void()> hook;
  return hook;
}
}  // namespace

}  // namespace regsweep::apply::detail

namespace regsweep::apply {
void set_mutation_hook(std::function<void()> hook) { detail::mutation_hook() = std::move(hook); }
}  // namespace regsweep::apply

namespace regsweep::apply::detail {

void count_mutation() {
  if (mutation_hook()) mutation_hook()();
#ifdef REGSWEEP_TEST_HOOKS
  static long remaining = [] {
    const char* v = std::getenv("REGSWEEP_TEST_CRASH_AFTER");
    return v ? std::atol(v) : -1L;
  }();
  if (remaining > 0 && --remaining == 0) ::kill(::getpid(), SIGKILL);
#endif
}

namespace {

enum class Check { Ready, AlreadyGone, KeepFolder };

// The folder a key is in (storage::parent_key, as a string of its own).
std::string parent_of(std::string_view key) { return std::string(storage::parent_key(key)); }

// Checks what must hold right before `a` runs. Throws SafetyRefusal when it does not.
// `removed`: what a dry run has counted as removed already (it is still on disk).
// `key` and `check_key` are the action's (computed once per action by the caller).
// `st` is what is at `key` now (the caller looked: a stat, or a listing of the item's keys).
// `link_proven`: a listing's ETag has just shown that check_key holds the planned digest.
Check check(storage::Store& store, const Action& a, const std::string& key, const std::string& check_key,
            const storage::FileStat& st, const std::set<std::string>* removed = nullptr, bool link_proven = false) {
  switch (a.expect) {
    case Expect::LinkIs: {
      if (!st.exists()) return Check::AlreadyGone;
      if (link_proven) return Check::Ready;
      std::string content;
      storage::ReadResult r = store.read(check_key, 4096, content);
      auto parsed = storage::parse_link(content);
      if (!r.ok() || !parsed.ok() || !a.digest || *parsed.digest != *a.digest)
        throw SafetyRefusal("the storage changed since the plan was made: " + check_key + " no longer names " +
                                (a.digest ? a.digest->str() : std::string("the planned digest")),
                            store.locate(check_key), "make the plan again (nothing after this item was removed)");
      return Check::Ready;
    }
    case Expect::Exists:
    case Expect::BlobUnreferenced:
      return st.exists() ? Check::Ready : Check::AlreadyGone;
    case Expect::Restorable: {
      if (a.kind == ActionKind::RestoreFolder) {
        if (st.type == storage::FileType::Directory) return Check::AlreadyGone;
        if (st.exists())
          throw SafetyRefusal("cannot make the folder again: something else is at its path", store.locate(key),
                              "make the restore plan again (nothing after this item was moved)");
        return Check::Ready;
      }
      const bool in_trash = store.stat(a.source).exists();
      if (!in_trash && st.exists()) return Check::AlreadyGone;  // moved back already
      if (!in_trash)
        throw SafetyRefusal("the item is no longer in the trash", store.locate(a.source),
                            "was the trash emptied? nothing after this item was moved");
      if (st.exists())
        throw SafetyRefusal("cannot restore: the path exists again (re-created since the plan was made)", store.locate(key),
                            "run restore again to see every conflict; --keep-newer keeps the newer items");
      return Check::Ready;
    }
    case Expect::BlobMissing:
      if (!st.exists()) return Check::AlreadyGone;
      if (storage::is_blob_data(store.stat(check_key).type))
        throw SafetyRefusal("the storage changed since the plan was made: the blob is there again", store.locate(check_key),
                            "make the plan again (nothing after this item was removed)");
      return Check::Ready;
    case Expect::EmptyFolder: {
      if (st.type != storage::FileType::Directory) return Check::AlreadyGone;
      bool empty = true;
      store.list_children(key, [&](std::string_view name, storage::FileType) {
        if (!removed || !removed->count(key + "/" + std::string(name))) empty = false;
      });
      return empty ? Check::Ready : Check::KeepFolder;
    }
  }
  return Check::Ready;
}

json journal_entry(std::size_t seq, const Action& a, const std::string& key) {
  json j = {{"seq", seq}, {"action", plan::to_string(a.kind)}, {"path", key}, {"bytes", a.bytes}};
  if (a.digest) j["digest"] = a.digest->str();
  return j;
}

std::set<std::string> audited_paths(StateStore& logs, const std::string& run_id) {
  std::set<std::string> out;
  logs.for_each_line(state::kAudit, [&](const json& j) {
    if (j.value("run", "") == run_id) out.insert(j.value("path", ""));
  });
  return out;
}

void check_paths(const Action& a) {
  // A name that is one folder of the layout must not be a path: "v1/../../x" as a tag.
  for (const util::Text* name : {&a.tag, &a.upload, &a.part})
    if (name->find('/') != std::string::npos)
      throw Error("refusing an action whose tag, upload or part is not a single name", a.repository + " " + *name);
  if (!a.part.empty() && a.part != storage::layout::kManifests && a.part != storage::layout::kLayers &&
      a.part != storage::layout::kUploads)
    throw Error("refusing a repository part that is not _manifests, _layers or _uploads", a.part);
  state::check_storage_path(a.storage_key());
  if (!a.check_key().empty()) state::check_storage_path(a.check_key());
  if (!a.source.empty()) state::check_trashed_path(a.source);
  if ((a.kind == ActionKind::RestoreItem) != !a.source.empty())
    throw Error("a restore action needs its place in the trash, and only a restore action has one", a.storage_key());
}

bool is_restore(ActionKind k) { return k == ActionKind::RestoreFolder || k == ActionKind::RestoreItem; }

// The closest folder at or above `rel` that exists (a restore may recreate the rest).
std::string nearest_existing(storage::Store& store, std::string rel) {
  while (!rel.empty() && !store.stat(rel).exists()) rel = parent_of(rel);
  return rel;
}

// Journal paths of a run: what it had started to remove before it was interrupted, and of
// those, what was copied whole to the trash already (a store without rename).
struct Journaled {
  std::set<std::string> started, copied;
};
Journaled journaled_paths(StateStore& logs, const std::string& run_id) {
  Journaled out;
  logs.for_each_line(state::run_journal(run_id), [&](const json& j) {
    (j.value("copied", false) ? out.copied : out.started).insert(j.value("path", ""));
  });
  return out;
}

void write_record(RunContext& ctx, const plan::Plan& plan, const RunSummary& s, const std::string& status) {
  json record = {{"id", ctx.run_id},
                 {"command", plan.command},
                 {"arguments", plan.arguments},
                 {"command_line", ctx.command_line},
                 {"time", util::rfc3339_utc(ctx.now_ns)},
                 {"status", status},
                 {"removed", s.removed},
                 {"bytes_freed", s.bytes_freed},
                 {"bytes_in_trash", s.bytes_in_trash},
                 {"plan", plan::plan_to_json(plan)}};
  ctx.state.write_record(ctx.run_id, record);
}

}  // namespace

std::vector<std::string> plan_violations(storage::Store& store, const plan::Plan& plan) {
  std::vector<std::string> out;
  for (const Action& a : plan.actions) {
    try {
      check_paths(a);
      const std::string key = a.storage_key();
      check(store, a, key, a.check_key(), store.stat(key));
    } catch (const Error& e) {
      out.push_back(std::string(e.what()) + " (" + e.path() + ")");
    }
  }
  return out;
}

namespace {

// One run's moving parts: executes the actions of a plan in order.
//
// How an item is set aside depends on the store. Where rename is atomic (a local folder), one
// rename(2) moves it into the run's trash: it is in place or in the trash, never half. Where
// it is not (S3), the item's keys are copied into the trash, a "copied" line is journaled,
// and only then are the originals deleted: a kill before that line leaves the item whole in
// place (the copy is made again), a kill after it leaves a whole copy in the trash, and the
// resumed run finishes the delete without checking a precondition on what is left of the
// item. Blob folders that are not kept (gc without --trash) are deleted outright there,
// since their copy would be purged at the end anyway.
class Runner {
 public:
  Runner(RunContext& ctx, const plan::Plan& plan, bool resumed)
      : ctx_(ctx), store_(ctx.store), plan_(plan), resumed_(resumed), traits_(ctx.store.traits()) {
    s_.run_id = ctx.run_id;
    s_.command = plan.command;
    s_.arguments = plan.arguments;
  }

  RunSummary run() {
    for (const Action& a : plan_.actions) check_paths(a);
    if (ctx_.dry_run)
      for (const Action& a : plan_.actions)
        if (a.expect == Expect::EmptyFolder) empty_folder_keys_.insert(a.storage_key());
    if (!ctx_.dry_run) {
      store_.make_folder(state::run_dir(ctx_.run_id));
      if (!resumed_) write_record(ctx_, plan_, s_, "running");
      trash_device_ = store_.volume_of(state::run_dir(ctx_.run_id));
      // Every item first, so that a mount inside the root stops the run before anything moves.
      try {
        for (const Action& a : plan_.actions) check_same_filesystem(a, a.storage_key());
      } catch (const SafetyRefusal&) {
        write_record(ctx_, plan_, s_, "stopped");
        throw;
      }
    }
    if (resumed_) {
      // After a kill, lines may be missing from the audit log for items already moved; an
      // emptied folder leaves nothing in the trash, so the journal says whether it went.
      audited_ = audited_paths(ctx_.state, ctx_.run_id);
      journaled_ = journaled_paths(ctx_.state, ctx_.run_id);
    }
    ctx_.progress.phase(ctx_.dry_run ? "checking" : "removing");
    const std::size_t n = plan_.actions.size();
    ctx_.progress.expect(n);
    for (std::size_t i = 0; i < n;) {
      try {
        if (!traits_.atomic_rename && !is_restore(plan_.actions[i].kind)) {
          std::size_t end = i;
          while (end < n && end - i < window_size() && !is_restore(plan_.actions[end].kind)) ++end;
          run_window(i, end);
          i = end;
        } else {
          ctx_.progress.advance(1, plan_.actions[i].bytes);
          step(i, plan_.actions[i]);
          ++i;
        }
      } catch (const SafetyRefusal&) {
        // A refusal (a precondition, a mount) is final: recorded as stopped, the run is not
        // resumed later; what it moved stays in its trash. Any other error is like a kill:
        // the run stays "running" and the next session finishes it.
        if (!ctx_.dry_run) write_record(ctx_, plan_, s_, "stopped");
        throw;
      }
    }
    ctx_.progress.done();
    if (ctx_.dry_run) return s_;
    if (!plan_.trash_blobs) {
      store_.remove_prefix(state::trashed(ctx_.run_id, storage::layout::v2("blobs")));
      count_mutation();
    }
    if (s_.removed == 0 && s_.restored == 0 && !ctx_.state.has(state::run_journal(ctx_.run_id))) {
      // It changed nothing (an empty plan, such as the re-run after a recovery, or items all
      // gone already): no "complete, 0 items" run is left in the trash to puzzle over.
      if (!plan_.restores_run.empty()) ctx_.state.mark_run(plan_.restores_run, "restored");
      store_.remove_prefix(state::run_dir(ctx_.run_id));
      s_.run_id.clear();
      return s_;
    }
    write_record(ctx_, plan_, s_, "complete");
    if (!plan_.restores_run.empty()) ctx_.state.mark_run(plan_.restores_run, "restored");
    return s_;
  }

 private:
  // Without rename, a blob not kept in the trash is deleted where it is.
  bool deleted_outright(const Action& a) const {
    return !traits_.atomic_rename && a.kind == ActionKind::RemoveBlob && !plan_.trash_blobs;
  }

  // The keys of an action are made once per step (not kept for the whole plan: memory).
  void step(std::size_t i, const Action& a) {
    const std::string key = a.storage_key();
    if (is_restore(a.kind)) return restore_step(i, a);
    // Where folders are only the keys below them, an emptied one is gone with its last key.
    if (a.kind == ActionKind::RemoveEmptyFolder && !traits_.folders) return;
    if (resumed_ && journaled_.copied.count(key)) {
      // Copied whole to the trash before the kill: only the delete is left to finish.
      delete_original(key);
      removed(a);
      if (!audited_.count(key)) audit(a, key, true);
      return;
    }
    Check c = check(store_, a, key, a.check_key(), store_.stat(key), ctx_.dry_run ? &dry_removed_ : nullptr);
    if (c == Check::AlreadyGone) {
      // (A folder is never moved: one in the trash holds other items.)
      bool moved_here = a.kind != ActionKind::RemoveEmptyFolder && store_.stat(state::trashed(ctx_.run_id, key)).exists();
      bool gone_here = (a.kind == ActionKind::RemoveEmptyFolder || deleted_outright(a)) && journaled_.started.count(key);
      if (resumed_ && (moved_here || gone_here)) {
        removed(a);
        if (!audited_.count(key)) audit(a, key, true);
      } else {
        ++s_.already_gone;
      }
      return;
    }
    if (c == Check::KeepFolder) {
      ++s_.kept_folders;
      return;
    }
    if (ctx_.dry_run) {
      // Kept only where an empty-folder check of this plan will look for it.
      if (empty_folder_keys_.count(storage::parent_key(key))) dry_removed_.insert(key);
      removed(a);
      return;
    }
    check_same_filesystem(a, key);
    journal(journal_entry(i, a, key));
    if (a.kind == ActionKind::RemoveEmptyFolder) {
      if (!store_.remove_empty_folder(key)) {
        ++s_.kept_folders;
        return;
      }
    } else if (deleted_outright(a)) {
      delete_original(key);
    } else {
      move(i, key, state::trashed(ctx_.run_id, key));
    }
    removed(a);
    audit(a, key, false);
  }

  // Where the store cannot rename (S3), actions go in windows: the requests of a window run
  // at once (the store's connections), and its writes are batches. In order: every item's
  // keys are listed and its precondition checked; the journal lines of the items to remove
  // are written (one object); those kept in the trash are copied there, and their "copied"
  // lines written; every key of the window is deleted in batches of the store's size; the
  // audit lines are written. A kill anywhere leaves what one item at a time would: each
  // item is whole in place, whole in the trash, or gone with its journal line. A refused
  // precondition ends the window at that item; a key the store refused to delete fails its
  // item (a "failed" journal line, never counted as removed) and stops the run after the
  // window, unfinished, so that the next run retries it.
  std::size_t window_size() const {
    if (ctx_.window) return ctx_.window;
#ifdef REGSWEEP_TEST_HOOKS
    static const std::size_t test_window = [] {
      const char* v = std::getenv("REGSWEEP_TEST_WINDOW");
      return v ? static_cast<std::size_t>(std::max(1L, std::atol(v))) : std::size_t(0);
    }();
    if (test_window) return test_window;
#endif
    return 1000;
  }

  // A key as a listing gave it: copied without a look of its own, a link checked by its ETag.
  struct ListedKey {
    std::string key;  // a "folder/" marker object with its '/'
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string etag;
    storage::KeyInfo info() const { return storage::KeyInfo{key, storage::FileType::Regular, size, mtime_ns, etag}; }
  };

  struct WindowItem {
    std::string key;
    std::vector<ListedKey> keys;    // what is at `key` now: the key itself, or a folder's keys
    bool listed = false;            // `keys` came from a listing (else: a HEAD or a listing of its own)
    Check check = Check::Ready;
    bool skip = false;           // nothing to do on this store (an emptied folder is gone)
    bool finish_delete = false;  // copied whole to the trash before a kill: only the delete is left
    bool moved_here = false;     // resumed: in this run's trash already
    std::exception_ptr refusal;
  };

  static ListedKey listed_key(const storage::KeyInfo& k) {
    // A zero-byte "folder/" marker object is deleted by its own key.
    return ListedKey{k.type == storage::FileType::Directory ? std::string(k.key) + "/" : std::string(k.key), k.size, k.mtime_ns,
                     std::string(k.etag)};
  }

  // The keys of one item: a single key is looked at (HEAD), a folder listed.
  std::vector<ListedKey> keys_at(const Action& a, const std::string& key) {
    std::vector<ListedKey> keys;
    if (storage::layout::is_single_key(a.object().kind)) {
      const storage::FileStat st = store_.stat(key);
      if (st.type == storage::FileType::Regular) keys.push_back(ListedKey{key, st.size, st.mtime_ns, {}});
      return keys;
    }
    store_.list(key, [&](const storage::KeyInfo& k) { keys.push_back(listed_key(k)); });
    return keys;
  }

  // The folder that holds an item and its siblings of the same kind (a repository's
  // revisions, its _layers, its tags, a blob prefix folder): one listing of it finds the keys
  // of every item of the window in it, instead of one request per item. Empty for the kinds
  // whose siblings are not alike (a repository may hold a whole tree).
  static std::string_view collection_of(const Action& a, std::string_view key) {
    switch (a.object().kind) {
      case storage::layout::ObjectKind::RevisionLink:
        return storage::parent_key(storage::parent_key(key));
      case storage::layout::ObjectKind::Tag:
      case storage::layout::ObjectKind::TagIndexEntry:
      case storage::layout::ObjectKind::Revision:
      case storage::layout::ObjectKind::LayerLink:
      case storage::layout::ObjectKind::Upload:
      case storage::layout::ObjectKind::Blob:
        return storage::parent_key(key);
      default:
        return {};
    }
  }

  // Fills the keys of the window's items: items that share a collection with another item
  // are found in one listing of it; the others are looked at one by one.
  void gather_keys(std::size_t first, std::vector<WindowItem>& items) {
    std::map<std::string_view, std::vector<std::size_t>> groups;
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (items[k].skip) continue;
      std::string_view collection = collection_of(plan_.actions[first + k], items[k].key);
      if (!collection.empty()) groups[collection].push_back(k);
    }
    std::vector<std::pair<std::string_view, const std::vector<std::size_t>*>> listings;
    for (const auto& [collection, members] : groups)
      if (members.size() > 1) listings.emplace_back(collection, &members);
    util::parallel_for(listings.size(), traits_.connections, [&](unsigned, std::size_t g) {
      const std::string_view collection = listings[g].first;
      // Each member by the name of its folder (or file) in the collection.
      std::map<std::string_view, std::size_t> by_name;
      for (std::size_t k : *listings[g].second) {
        WindowItem& it = items[k];
        it.listed = true;
        const bool single = storage::layout::is_single_key(plan_.actions[first + k].object().kind);
        std::string_view rest = std::string_view(it.key).substr(collection.size() + 1);
        by_name.emplace(single ? rest.substr(0, rest.find('/')) : rest, k);
      }
      store_.list(collection, [&](const storage::KeyInfo& info) {
        std::string_view rest = info.key.substr(collection.size() + 1);
        auto found = by_name.find(rest.substr(0, rest.find('/')));
        if (found == by_name.end()) return;
        WindowItem& it = items[found->second];
        if (storage::layout::is_single_key(plan_.actions[first + found->second].object().kind)) {
          if (info.key == it.key && info.type == storage::FileType::Regular) it.keys.push_back(listed_key(info));
        } else if (info.key.size() > it.key.size() && info.key[it.key.size()] == '/') {
          it.keys.push_back(listed_key(info));
        } else if (info.key == it.key && info.type == storage::FileType::Directory) {
          it.keys.push_back(listed_key(info));  // the item's own "folder/" marker
        }
      });
    });
    util::parallel_for(items.size(), traits_.connections, [&](unsigned, std::size_t k) {
      if (!items[k].skip && !items[k].listed) items[k].keys = keys_at(plan_.actions[first + k], items[k].key);
    });
  }

  // Whether the keys just listed show, by its ETag, that the action's link names its digest.
  static bool link_proven(const Action& a, const std::string& check_key, const std::vector<ListedKey>& keys) {
    if (a.expect != Expect::LinkIs || !a.digest) return false;
    auto it = std::find_if(keys.begin(), keys.end(), [&](const ListedKey& k) { return k.key == check_key; });
    return it != keys.end() && storage::etag_proves(it->info(), a.digest->str());
  }

  void run_window(std::size_t first, std::size_t last) {
    const std::size_t n = last - first;
    std::vector<WindowItem> items(n);
    for (std::size_t k = 0; k < n; ++k) {
      const Action& a = plan_.actions[first + k];
      items[k].key = a.storage_key();
      items[k].skip = a.kind == ActionKind::RemoveEmptyFolder;
    }
    gather_keys(first, items);
    util::parallel_for(n, traits_.connections, [&](unsigned, std::size_t k) {
      const Action& a = plan_.actions[first + k];
      WindowItem& it = items[k];
      if (it.skip) return;
      if (resumed_ && journaled_.copied.count(it.key)) {
        it.finish_delete = true;
        return;
      }
      storage::FileStat st;
      if (!it.keys.empty())
        st.type = storage::layout::is_single_key(a.object().kind) ? storage::FileType::Regular : storage::FileType::Directory;
      try {
        const std::string check_key = a.check_key();
        it.check = check(store_, a, it.key, check_key, st, nullptr, link_proven(a, check_key, it.keys));
      } catch (const SafetyRefusal&) {
        it.refusal = std::current_exception();
        return;
      }
      if (resumed_ && it.check == Check::AlreadyGone) it.moved_here = store_.stat(state::trashed(ctx_.run_id, it.key)).exists();
    });
    std::size_t stop = n;
    for (std::size_t k = 0; k < n && stop == n; ++k)
      if (items[k].refusal) stop = k;

    std::vector<std::size_t> doing;  // items to remove now (or finish removing)
    std::vector<std::string> journal_lines, audit_lines;
    for (std::size_t k = 0; k < stop; ++k) {
      const Action& a = plan_.actions[first + k];
      WindowItem& it = items[k];
      ctx_.progress.advance(1, a.bytes);
      if (it.skip) continue;
      if (it.finish_delete) {
        doing.push_back(k);
        continue;
      }
      if (it.check == Check::AlreadyGone) {
        const bool gone_here = deleted_outright(a) && journaled_.started.count(it.key);
        if (resumed_ && (it.moved_here || gone_here)) {
          removed(a);
          if (!audited_.count(it.key)) audit_lines.push_back(audit_line(a, it.key, true));
        } else {
          ++s_.already_gone;
        }
        continue;
      }
      if (it.check == Check::KeepFolder) {
        ++s_.kept_folders;
        continue;
      }
      if (ctx_.dry_run) {
        removed(a);
        continue;
      }
      doing.push_back(k);
      journal_lines.push_back(dump(journal_entry(first + k, a, it.key)));
    }
    if (!ctx_.dry_run) {
      if (!journal_lines.empty()) {
        ctx_.state.append_lines(state::run_journal(ctx_.run_id), journal_lines);
        count_mutation();
      }
      // Into the trash, all at once; then the lines that say so.
      struct Copy {
        const ListedKey* from;
        std::string to;
        bool look = false;  // the store looks at the source first (for its time)
      };
      std::vector<Copy> copies;
      std::vector<std::string> copied_lines;
      for (std::size_t k : doing) {
        const Action& a = plan_.actions[first + k];
        if (items[k].finish_delete || deleted_outright(a)) continue;
        // A tag's links keep the time a restore gave them, which a listing does not show: the
        // store looks at them. Other keys' times are read from listings anyway (the walk's).
        const auto kind = a.object().kind;
        const bool look = kind == storage::layout::ObjectKind::Tag || kind == storage::layout::ObjectKind::TagIndexEntry;
        for (const ListedKey& key : items[k].keys)
          copies.push_back(Copy{&key, state::trashed(ctx_.run_id, key.key), look || key.etag.empty()});
        copied_lines.push_back(dump({{"seq", first + k}, {"path", items[k].key}, {"copied", true}}));
      }
      if (!copies.empty()) {
        util::parallel_for(copies.size(), traits_.connections, [&](unsigned, std::size_t c) {
          const storage::KeyInfo listed = copies[c].from->info();
          store_.copy(copies[c].from->key, copies[c].to, copies[c].look ? nullptr : &listed);
        });
        count_mutation();
      }
      if (!copied_lines.empty()) {
        ctx_.state.append_lines(state::run_journal(ctx_.run_id), copied_lines);
        count_mutation();
      }
      std::vector<std::string> doomed;
      for (std::size_t k : doing)
        for (const ListedKey& key : items[k].keys) doomed.push_back(key.key);
      std::optional<storage::PartialRemoval> partial;
      std::map<std::string, std::string> refused;
      if (!doomed.empty()) {
        try {
          store_.remove(doomed);
        } catch (const storage::PartialRemoval& e) {
          partial = e;
          for (const auto& [key, why] : e.failed()) refused.emplace(key, why);
        }
        count_mutation();
      }
      std::vector<std::string> failed_lines;
      for (std::size_t k : doing) {
        const Action& a = plan_.actions[first + k];
        const WindowItem& it = items[k];
        auto bad = std::find_if(it.keys.begin(), it.keys.end(), [&](const ListedKey& key) { return refused.count(key.key) > 0; });
        if (bad != it.keys.end()) {
          failed_lines.push_back(dump({{"seq", first + k}, {"path", it.key}, {"failed", bad->key + ": " + refused[bad->key]}}));
          continue;
        }
        removed(a);
        if (!(it.finish_delete && audited_.count(it.key))) audit_lines.push_back(audit_line(a, it.key, it.finish_delete));
      }
      if (!failed_lines.empty()) {
        ctx_.state.append_lines(state::run_journal(ctx_.run_id), failed_lines);
        count_mutation();
      }
      if (!audit_lines.empty()) {
        ctx_.state.append_lines(state::kAudit, audit_lines);
        count_mutation();
      }
      if (partial) throw *partial;  // the run stays unfinished: the next one retries what is left
    }
    if (stop < n) std::rethrow_exception(items[stop].refusal);
  }

  static std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

  // A restore moves an item back from a run's trash (or makes a removed folder again).
  void restore_step(std::size_t i, const Action& a) {
    const std::string key = a.storage_key();
    if (resumed_ && journaled_.copied.count(key)) {
      delete_original(a.source);
      ++s_.restored;
      if (!audited_.count(key)) audit(a, key, true);
      return;
    }
    if (resumed_ && !traits_.atomic_rename && a.kind == ActionKind::RestoreItem && journaled_.started.count(key) &&
        store_.stat(a.source).exists()) {
      // Killed while copying it back: what is at its path is part of this copy. Copied again.
      move(i, a.source, key);
      ++s_.restored;
      audit(a, key, false);
      return;
    }
    Check c = check(store_, a, key, a.check_key(), store_.stat(key));
    if (c == Check::AlreadyGone) {
      if (resumed_ && journaled_.started.count(key)) {
        ++s_.restored;
        if (!audited_.count(key)) audit(a, key, true);
      } else {
        ++s_.already_gone;
      }
      return;
    }
    if (ctx_.dry_run) {
      ++s_.restored;
      return;
    }
    check_same_filesystem(a, key);
    journal(journal_entry(i, a, key));
    if (a.kind == ActionKind::RestoreFolder) {
      store_.make_folder(key);
      count_mutation();
    } else {
      move(i, a.source, key);
    }
    ++s_.restored;
    audit(a, key, false);
  }

  void journal(const json& entry) {
    ctx_.state.append(state::run_journal(ctx_.run_id), entry.dump(-1, ' ', false, json::error_handler_t::replace));
    count_mutation();
  }

  // Moves the item at `from` (a key or a folder of keys) to `to`, as the store allows. The
  // journal line for the item is written already. `path` in the "copied" line is the
  // action's path, for both directions.
  void move(std::size_t i, const std::string& from, const std::string& to) {
    if (traits_.atomic_rename) {
      store_.rename(from, to);
      count_mutation();
      return;
    }
    const storage::FileStat st = store_.stat(from);
    if (st.type == storage::FileType::Directory) {
      std::vector<std::string> keys;
      // A "folder/" marker (as consoles write them) is listed as a folder: copied as the key it is.
      store_.list(from, [&](const storage::KeyInfo& k) {
        keys.emplace_back(std::string(k.key) + (k.type == storage::FileType::Directory ? "/" : ""));
      });
      for (const std::string& key : keys) store_.copy(key, to + key.substr(from.size()));
    } else {
      store_.copy(from, to);
    }
    count_mutation();
    const std::string& path = from.starts_with(state::kTrash) ? to : from;
    journal({{"seq", i}, {"path", path}, {"copied", true}});
    delete_original(from);
  }

  void delete_original(const std::string& key) {
    if (store_.stat(key).type == storage::FileType::Directory)
      store_.remove_prefix(key);
    else
      store_.remove({key});
    count_mutation();
  }

  // rename(2) only works within one filesystem; a mount inside the root (at an item, above
  // it, or where a restore puts it back) would make it fail or copy. Checked for every item
  // before the first one moves, and again right before each. Items already gone (a resumed
  // run) are not looked at. A store that copies has nothing to check.
  void check_same_filesystem(const Action& a, const std::string& key) {
    if (!traits_.atomic_rename) return;
    auto refuse = [&](const std::string& where) {
      throw SafetyRefusal("cannot move by renaming: a different filesystem is mounted inside the root", store_.locate(where),
                          "regsweep only renames; it never copies storage");
    };
    if (a.kind == ActionKind::RemoveEmptyFolder) return;
    if (is_restore(a.kind)) {
      const std::string above = nearest_existing(store_, parent_of(key));
      if (store_.volume_of(above) != trash_device_) refuse(above);
      if (!a.source.empty() && store_.stat(a.source).exists() && store_.volume_of(a.source) != trash_device_) refuse(a.source);
      return;
    }
    if (!store_.stat(key).exists()) return;
    if (store_.volume_of(parent_of(key)) != trash_device_ || store_.volume_of(key) != trash_device_) refuse(key);
  }

  void removed(const Action& a) {
    ++s_.removed;
    bool purged = a.kind == ActionKind::RemoveBlob && !plan_.trash_blobs;
    (purged ? s_.bytes_freed : s_.bytes_in_trash) += a.bytes;
    if (purged) ++s_.purged;
  }

  std::string audit_line(const Action& a, const std::string& key, bool recovered) const {
    json line = {{"time", util::rfc3339_utc(ctx_.now_ns)}, {"run", ctx_.run_id}, {"command", plan_.command},
                 {"action", plan::to_string(a.kind)}, {"path", key}, {"reason", a.reason.str()}, {"bytes", a.bytes}};
    if (a.digest) line["digest"] = a.digest->str();
    if (recovered) line["recovered"] = true;
    return dump(line);
  }

  void audit(const Action& a, const std::string& key, bool recovered) {
    ctx_.state.append(state::kAudit, audit_line(a, key, recovered));
    count_mutation();
  }

  RunContext& ctx_;
  storage::Store& store_;
  const plan::Plan& plan_;
  bool resumed_;
  storage::StoreTraits traits_;
  RunSummary s_;
  std::uint64_t trash_device_ = 0;
  std::set<std::string> audited_;
  // A dry run removes nothing: an empty-folder check counts the items it has removed
  // already. Only those right below the folders such checks look at are kept.
  std::set<std::string> dry_removed_;
  std::set<std::string, std::less<>> empty_folder_keys_;
  Journaled journaled_;
};

}  // namespace

RunSummary run_plan(RunContext& ctx, const plan::Plan& plan, bool resumed) { return Runner(ctx, plan, resumed).run(); }

}  // namespace regsweep::apply::detail
