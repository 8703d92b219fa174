#include "run.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/storage/link.h"
#include "regsweep/util/format.h"

namespace regsweep::apply::detail {

using nlohmann::json;
using plan::Action;
using plan::ActionKind;
using plan::Expect;

void count_mutation() {
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

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// Checks what must hold right before `a` runs. Throws SafetyRefusal when it does not.
// `removed`: what a dry run has counted as removed already (it is still on disk).
Check check(storage::Dir& root, const Action& a, const std::set<std::string>* removed = nullptr) {
  storage::FileStat st = root.stat(a.path);
  switch (a.expect) {
    case Expect::LinkIs: {
      if (!st.exists()) return Check::AlreadyGone;
      std::string content;
      storage::ReadResult r = root.read_file(a.check_path, 4096, content);
      auto parsed = storage::parse_link(content);
      if (!r.ok() || !parsed.ok() || !a.digest || *parsed.digest != *a.digest)
        throw SafetyRefusal("the storage changed since the plan was made: " + a.check_path + " no longer names " +
                                (a.digest ? a.digest->str() : std::string("the planned digest")),
                            root.child_path(a.check_path), "make the plan again (nothing after this item was removed)");
      return Check::Ready;
    }
    case Expect::Exists:
    case Expect::BlobUnreferenced:
      return st.exists() ? Check::Ready : Check::AlreadyGone;
    case Expect::Restorable: {
      if (a.kind == ActionKind::RestoreFolder) {
        if (st.type == storage::FileType::Directory) return Check::AlreadyGone;
        if (st.exists())
          throw SafetyRefusal("cannot make the folder again: something else is at its path", root.child_path(a.path),
                              "make the restore plan again (nothing after this item was moved)");
        return Check::Ready;
      }
      const bool in_trash = root.stat(a.source).exists();
      if (!in_trash && st.exists()) return Check::AlreadyGone;  // moved back already
      if (!in_trash)
        throw SafetyRefusal("the item is no longer in the trash", root.child_path(a.source),
                            "was the trash emptied? nothing after this item was moved");
      if (st.exists())
        throw SafetyRefusal("cannot restore: the path exists again (re-created since the plan was made)", root.child_path(a.path),
                            "run restore again to see every conflict; --keep-newer keeps the newer items");
      return Check::Ready;
    }
    case Expect::BlobMissing:
      if (!st.exists()) return Check::AlreadyGone;
      if (storage::is_blob_data(root.stat(a.check_path).type))
        throw SafetyRefusal("the storage changed since the plan was made: the blob is there again", root.child_path(a.check_path),
                            "make the plan again (nothing after this item was removed)");
      return Check::Ready;
    case Expect::EmptyFolder: {
      if (st.type != storage::FileType::Directory) return Check::AlreadyGone;
      bool empty = true;
      if (auto d = root.open_dir(a.path))
        d->list([&](std::string_view name, storage::FileType) {
          if (!removed || !removed->count(a.path + "/" + std::string(name))) empty = false;
        });
      return empty ? Check::Ready : Check::KeepFolder;
    }
  }
  return Check::Ready;
}

json journal_entry(std::size_t seq, const Action& a) {
  json j = {{"seq", seq}, {"action", plan::to_string(a.kind)}, {"path", a.path}, {"bytes", a.bytes}};
  if (a.digest) j["digest"] = a.digest->str();
  return j;
}

std::set<std::string> audited_paths(storage::Dir& root, const std::string& run_id) {
  std::set<std::string> out;
  for_each_json_line(root, state::kAudit, [&](const json& j) {
    if (j.value("run", "") == run_id) out.insert(j.value("path", ""));
  });
  return out;
}

void check_paths(const Action& a) {
  state::check_storage_path(a.path);
  if (!a.check_path.empty()) state::check_storage_path(a.check_path);
  if (!a.source.empty()) state::check_trashed_path(a.source);
  if ((a.kind == ActionKind::RestoreItem) != !a.source.empty())
    throw Error("a restore action needs its place in the trash, and only a restore action has one", a.path);
}

bool is_restore(ActionKind k) { return k == ActionKind::RestoreFolder || k == ActionKind::RestoreItem; }

// The closest folder at or above `rel` that exists (a restore may recreate the rest).
std::string nearest_existing(storage::Dir& root, std::string rel) {
  while (!rel.empty() && !root.stat(rel).exists()) rel = parent_of(rel);
  return rel;
}

// Journal paths of a run: what it had started to remove before it was interrupted.
std::set<std::string> journaled_paths(storage::Dir& root, const std::string& run_id) {
  std::set<std::string> out;
  for_each_json_line(root, state::run_journal(run_id), [&](const json& j) { out.insert(j.value("path", "")); });
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
  ctx.root.write_file(state::run_record(ctx.run_id), record.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace

void for_each_json_line(storage::Dir& root, const std::string& rel, const std::function<void(const json&)>& line) {
  std::string content;
  if (!root.read_file(rel, std::size_t(1) << 30, content).ok()) return;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t nl = content.find('\n', start);
    if (nl == std::string::npos) nl = content.size();
    json j = json::parse(content.begin() + static_cast<long>(start), content.begin() + static_cast<long>(nl), nullptr, false);
    if (j.is_object()) line(j);
    start = nl + 1;
  }
}

std::vector<std::string> plan_violations(storage::Dir& root, const plan::Plan& plan) {
  std::vector<std::string> out;
  for (const Action& a : plan.actions) {
    try {
      check_paths(a);
      check(root, a);
    } catch (const Error& e) {
      out.push_back(std::string(e.what()) + " (" + e.path() + ")");
    }
  }
  return out;
}

namespace {

// One run's moving parts: executes the actions of a plan in order.
class Runner {
 public:
  Runner(RunContext& ctx, const plan::Plan& plan, bool resumed) : ctx_(ctx), plan_(plan), resumed_(resumed) {
    s_.run_id = ctx.run_id;
    s_.command = plan.command;
    s_.arguments = plan.arguments;
  }

  RunSummary run() {
    for (const Action& a : plan_.actions) check_paths(a);
    if (!ctx_.dry_run) {
      ctx_.root.make_dirs(state::run_dir(ctx_.run_id));
      if (!resumed_) write_record(ctx_, plan_, s_, "running");
      trash_device_ = ctx_.root.device_of(state::run_dir(ctx_.run_id));
      // Every item first, so that a mount inside the root stops the run before anything moves.
      try {
        for (const Action& a : plan_.actions) check_same_filesystem(a);
      } catch (const SafetyRefusal&) {
        write_record(ctx_, plan_, s_, "stopped");
        throw;
      }
    }
    if (resumed_) {
      // After a kill, lines may be missing from the audit log for items already moved; an
      // emptied folder leaves nothing in the trash, so the journal says whether it went.
      audited_ = audited_paths(ctx_.root, ctx_.run_id);
      journaled_ = journaled_paths(ctx_.root, ctx_.run_id);
    }
    ctx_.progress.phase(ctx_.dry_run ? "checking" : "removing");
    for (std::size_t i = 0; i < plan_.actions.size(); ++i) {
      ctx_.progress.advance(1, plan_.actions[i].bytes);
      try {
        step(i, plan_.actions[i]);
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
      ctx_.root.remove_tree(state::trashed(ctx_.run_id, "docker/registry/v2/blobs"));
      count_mutation();
    }
    if (s_.removed == 0 && s_.restored == 0 && !ctx_.root.stat(state::run_journal(ctx_.run_id)).exists()) {
      // It changed nothing (an empty plan, such as the re-run after a recovery, or items all
      // gone already): no "complete, 0 items" run is left in the trash to puzzle over.
      if (!plan_.restores_run.empty()) mark_run(ctx_.root, plan_.restores_run, "restored");
      ctx_.root.remove_tree(state::run_dir(ctx_.run_id));
      s_.run_id.clear();
      return s_;
    }
    write_record(ctx_, plan_, s_, "complete");
    if (!plan_.restores_run.empty()) mark_run(ctx_.root, plan_.restores_run, "restored");
    return s_;
  }

 private:
  void step(std::size_t i, const Action& a) {
    if (is_restore(a.kind)) return restore_step(i, a);
    Check c = check(ctx_.root, a, ctx_.dry_run ? &dry_removed_ : nullptr);
    if (c == Check::AlreadyGone) {
      bool moved_here = ctx_.root.stat(state::trashed(ctx_.run_id, a.path)).exists();
      bool emptied_here = a.kind == ActionKind::RemoveEmptyFolder && journaled_.count(a.path);
      if (resumed_ && (moved_here || emptied_here)) {
        removed(a);
        if (!audited_.count(a.path)) audit(a, true);
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
      dry_removed_.insert(a.path);
      removed(a);
      return;
    }
    check_same_filesystem(a);
    ctx_.root.append(state::run_journal(ctx_.run_id), journal_entry(i, a).dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    count_mutation();
    if (a.kind == ActionKind::RemoveEmptyFolder) {
      if (!ctx_.root.remove_empty_dir(a.path)) {
        ++s_.kept_folders;
        return;
      }
    } else {
      const std::string dest = state::trashed(ctx_.run_id, a.path);
      ctx_.root.make_dirs(parent_of(dest));
      ctx_.root.rename(a.path, dest);
      count_mutation();
    }
    removed(a);
    audit(a, false);
  }

  // A restore moves an item back from a run's trash (or makes a removed folder again).
  void restore_step(std::size_t i, const Action& a) {
    Check c = check(ctx_.root, a);
    if (c == Check::AlreadyGone) {
      if (resumed_ && journaled_.count(a.path)) {
        ++s_.restored;
        if (!audited_.count(a.path)) audit(a, true);
      } else {
        ++s_.already_gone;
      }
      return;
    }
    if (ctx_.dry_run) {
      ++s_.restored;
      return;
    }
    check_same_filesystem(a);
    ctx_.root.append(state::run_journal(ctx_.run_id), journal_entry(i, a).dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    count_mutation();
    if (a.kind == ActionKind::RestoreFolder) {
      ctx_.root.make_dirs(a.path);
    } else {
      ctx_.root.make_dirs(parent_of(a.path));
      ctx_.root.rename(a.source, a.path);
    }
    count_mutation();
    ++s_.restored;
    audit(a, false);
  }

  // rename(2) only works within one filesystem; a mount inside the root (at an item, above
  // it, or where a restore puts it back) would make it fail or copy. Checked for every item
  // before the first one moves, and again right before each. Items already gone (a resumed
  // run) are not looked at.
  void check_same_filesystem(const Action& a) {
    auto refuse = [&](const std::string& where) {
      throw SafetyRefusal("cannot move by renaming: a different filesystem is mounted inside the root", ctx_.root.child_path(where),
                          "regsweep only renames; it never copies storage");
    };
    if (a.kind == ActionKind::RemoveEmptyFolder) return;
    if (is_restore(a.kind)) {
      const std::string above = nearest_existing(ctx_.root, parent_of(a.path));
      if (ctx_.root.device_of(above) != trash_device_) refuse(above);
      if (!a.source.empty() && ctx_.root.stat(a.source).exists() && ctx_.root.device_of(a.source) != trash_device_) refuse(a.source);
      return;
    }
    if (!ctx_.root.stat(a.path).exists()) return;
    if (ctx_.root.device_of(parent_of(a.path)) != trash_device_ || ctx_.root.device_of(a.path) != trash_device_) refuse(a.path);
  }

  void removed(const Action& a) {
    ++s_.removed;
    bool purged = a.kind == ActionKind::RemoveBlob && !plan_.trash_blobs;
    (purged ? s_.bytes_freed : s_.bytes_in_trash) += a.bytes;
    if (purged) ++s_.purged;
  }

  void audit(const Action& a, bool recovered) {
    json line = {{"time", util::rfc3339_utc(ctx_.now_ns)}, {"run", ctx_.run_id}, {"command", plan_.command},
                 {"action", plan::to_string(a.kind)}, {"path", a.path}, {"reason", a.reason}, {"bytes", a.bytes}};
    if (a.digest) line["digest"] = a.digest->str();
    if (recovered) line["recovered"] = true;
    ctx_.root.append(state::kAudit, line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    count_mutation();
  }

  RunContext& ctx_;
  const plan::Plan& plan_;
  bool resumed_;
  RunSummary s_;
  std::uint64_t trash_device_ = 0;
  std::set<std::string> audited_, journaled_, dry_removed_;
};

}  // namespace

RunSummary run_plan(RunContext& ctx, const plan::Plan& plan, bool resumed) { return Runner(ctx, plan, resumed).run(); }

void mark_run(storage::Dir& root, const std::string& run_id, const std::string& status) {
  std::string content;
  if (!root.read_file(state::run_record(run_id), 64u << 20, content).ok()) return;
  json record = json::parse(content, nullptr, false);
  if (!record.is_object()) return;
  record["status"] = status;
  root.write_file(state::run_record(run_id), record.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace regsweep::apply::detail
