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
Check check(storage::Dir& root, const Action& a) {
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
    case Expect::EmptyFolder: {
      if (st.type != storage::FileType::Directory) return Check::AlreadyGone;
      bool empty = true;
      if (auto d = root.open_dir(a.path)) d->list([&](std::string_view, storage::FileType) { empty = false; });
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
  std::string content;
  if (!root.read_file(state::kAudit, std::size_t(1) << 30, content).ok()) return out;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t nl = content.find('\n', start);
    if (nl == std::string::npos) nl = content.size();
    json j = json::parse(content.begin() + static_cast<long>(start), content.begin() + static_cast<long>(nl), nullptr, false);
    if (j.is_object() && j.value("run", "") == run_id) out.insert(j.value("path", ""));
    start = nl + 1;
  }
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

std::vector<std::string> plan_violations(storage::Dir& root, const plan::Plan& plan) {
  std::vector<std::string> out;
  for (const Action& a : plan.actions) {
    try {
      state::check_storage_path(a.path);
      check(root, a);
    } catch (const Error& e) {
      out.push_back(std::string(e.what()) + " (" + e.path() + ")");
    }
  }
  return out;
}

RunSummary run_plan(RunContext& ctx, const plan::Plan& plan, bool resumed) {
  RunSummary s;
  s.run_id = ctx.run_id;
  s.command = plan.command;
  s.arguments = plan.arguments;
  for (const Action& a : plan.actions) state::check_storage_path(a.path);
  if (!ctx.dry_run) {
    ctx.root.make_dirs(state::run_dir(ctx.run_id));
    if (!resumed) write_record(ctx, plan, s, "running");
  }
  // After a kill, lines may be missing from the audit log for items already moved.
  std::set<std::string> audited = resumed ? audited_paths(ctx.root, ctx.run_id) : std::set<std::string>{};
  const std::uint64_t trash_device = ctx.dry_run ? 0 : ctx.root.device_of(state::run_dir(ctx.run_id));
  auto audit = [&](const Action& a, bool recovered) {
    json line = {{"time", util::rfc3339_utc(ctx.now_ns)}, {"run", ctx.run_id}, {"command", plan.command},
                 {"action", plan::to_string(a.kind)}, {"path", a.path}, {"reason", a.reason}, {"bytes", a.bytes}};
    if (a.digest) line["digest"] = a.digest->str();
    if (recovered) line["recovered"] = true;
    ctx.root.append(state::kAudit, line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    count_mutation();
  };
  auto counts_as_removed = [&](const Action& a) {
    ++s.removed;
    bool purged = a.kind == ActionKind::RemoveBlob && !plan.trash_blobs;
    (purged ? s.bytes_freed : s.bytes_in_trash) += a.bytes;
  };

  for (std::size_t i = 0; i < plan.actions.size(); ++i) {
    const Action& a = plan.actions[i];
    Check c;
    try {
      c = check(ctx.root, a);
    } catch (const SafetyRefusal&) {
      if (!ctx.dry_run) write_record(ctx, plan, s, "stopped");
      throw;
    }
    if (c == Check::AlreadyGone) {
      bool moved_here = ctx.root.stat(state::trashed(ctx.run_id, a.path)).exists();
      if (resumed && moved_here) {
        counts_as_removed(a);
        if (!audited.count(a.path)) audit(a, true);
      } else {
        ++s.already_gone;
      }
      continue;
    }
    if (c == Check::KeepFolder) {
      ++s.kept_folders;
      continue;
    }
    if (ctx.dry_run) {
      counts_as_removed(a);
      continue;
    }
    ctx.root.append(state::run_journal(ctx.run_id), journal_entry(i, a).dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    count_mutation();
    if (a.kind == ActionKind::RemoveEmptyFolder) {
      if (!ctx.root.remove_empty_dir(a.path)) {
        ++s.kept_folders;
        continue;
      }
    } else {
      // rename(2) only works within one filesystem; a mount inside the root would make it
      // copy or fail half-way. Refuse before touching the item.
      if (ctx.root.device_of(parent_of(a.path)) != trash_device)
        throw SafetyRefusal("cannot move to the trash: a different filesystem is mounted inside the root", ctx.root.child_path(a.path),
                            "regsweep only renames; it never copies storage");
      const std::string dest = state::trashed(ctx.run_id, a.path);
      ctx.root.make_dirs(parent_of(dest));
      ctx.root.rename(a.path, dest);
      count_mutation();
    }
    counts_as_removed(a);
    audit(a, false);
  }
  if (ctx.dry_run) return s;
  if (!plan.trash_blobs) {
    ctx.root.remove_tree(state::trashed(ctx.run_id, "docker/registry/v2/blobs"));
    count_mutation();
  }
  write_record(ctx, plan, s, "complete");
  return s;
}

}  // namespace regsweep::apply::detail
