// `regsweep trash ls` and `regsweep trash empty`: what the runs removed and still hold, and
// freeing it for good.
#include "cli.h"
#include "regsweep/apply/state.h"
#include "regsweep/apply/trash.h"
#include "regsweep/error.h"
#include "regsweep/util/format.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

json run_json(const apply::TrashRun& r) {
  return {{"run", r.id},
          {"time", r.time_ns ? json(util::rfc3339_utc(r.time_ns)) : json(nullptr)},
          {"command", r.command},
          {"command_line", r.command_line},
          {"status", r.status},
          {"items", r.items},
          {"files", r.files},
          {"bytes", r.bytes}};
}

struct EmptyOptions {
  std::vector<std::string> runs;
  std::string older_than;
  MutationOptions mutation;
};

int run_ls(Context& ctx) {
  std::unique_ptr<apply::StateStore> logs = apply::open_state_store(ctx.store());
  std::vector<apply::TrashRun> runs = apply::list_trash(ctx.store(), *logs);
  if (ctx.options.json) {
    json list = json::array();
    std::uint64_t total = 0;
    for (const auto& r : runs) list.push_back(run_json(r)), total += r.bytes;
    print_json(ctx, {{"root", ctx.online() ? ctx.state_folder() : ctx.root()}, {"runs", list}, {"bytes", total}});
    return kExitOk;
  }
  if (runs.empty()) {
    *ctx.out << "the trash is empty\n";
    return kExitOk;
  }
  util::Table t({"RUN", "TIME", "COMMAND", "ITEMS", "SIZE", "STATUS"}, {false, false, false, true, true, false});
  std::uint64_t total = 0;
  for (const auto& r : runs) {
    t.add_row({r.id, r.time_ns ? ctx.time(r.time_ns) : "-", r.command_line.empty() ? r.command : r.command_line, std::to_string(r.items),
               ctx.size(r.bytes), r.status});
    total += r.bytes;
  }
  t.print(*ctx.out, ctx.out_style());
  *ctx.out << runs.size() << " run(s) hold " << ctx.size(total) << "; `regsweep restore RUN` puts one back, `regsweep trash empty` frees it\n";
  // The statuses that need a word of explanation, once each.
  auto any = [&](const char* status) { return std::any_of(runs.begin(), runs.end(), [&](const auto& r) { return r.status == status; }); };
  if (any("running"))
    *ctx.out << "running: still going, or interrupted (killed, or an error); the next command that changes the storage finishes it\n";
  if (any("stopped")) *ctx.out << "stopped: refused part-way (the storage changed); what it moved is held here and can be restored\n";
  if (any("emptying")) *ctx.out << "emptying: a trash empty was interrupted; running it again finishes it\n";
  if (any("unknown")) *ctx.out << "unknown: the run's record (run.json) is missing or unreadable; trash empty can still delete it\n";
  return kExitOk;
}

int run_empty(Context& ctx, const EmptyOptions& o) {
  const MutationOptions& m = o.mutation;
  std::optional<std::int64_t> older;
  if (!o.older_than.empty()) older = duration_option(o.older_than, "--older-than");
  if (!m.dry_run) require_confirmation_channel(ctx, m);
  apply::SessionOptions so = session_options(ctx, m.dry_run, true, false);
  so.trash_only = true;
  so.state_folder = ctx.online();
  apply::Session session(ctx.store(), so, *ctx.err);

  std::vector<apply::TrashRun> all = apply::list_trash(session.store(), session.state()), chosen;
  for (const std::string& id : o.runs)
    if (std::none_of(all.begin(), all.end(), [&](const auto& r) { return r.id == id; }))
      throw Error("no such run in the trash", session.store().locate(apply::state::run_dir(id)), "regsweep trash ls lists the runs");
  const std::int64_t now = ctx.now_ns();
  for (const auto& r : all) {
    if (!o.runs.empty() && std::find(o.runs.begin(), o.runs.end(), r.id) == o.runs.end()) continue;
    if (older && (r.time_ns == 0 || now - r.time_ns < *older * 1'000'000'000LL)) continue;
    chosen.push_back(r);
  }
  if (!ctx.options.json && !ctx.options.quiet) {
    if (chosen.empty()) *ctx.out << "nothing to empty\n";
    for (const auto& r : chosen)
      *ctx.out << (m.dry_run ? "would empty " : "empty ") << r.id << " (" << (r.command_line.empty() ? r.command : r.command_line)
               << "): " << ctx.size(r.bytes) << ", " << r.files << " files\n";
  }
  apply::EmptiedTrash done;
  if (!chosen.empty() && (m.dry_run || confirm(ctx, m, "delete these for good? they cannot be restored afterwards")))
    done = apply::empty_trash(session.store(), session.state(), chosen, m.dry_run, now, ctx.command_line);
  if (ctx.options.json) {
    json runs = json::array();
    for (const auto& r : chosen) runs.push_back(run_json(r));
    print_json(ctx, {{"dry_run", m.dry_run}, {"runs", runs}, {"emptied", done.runs}, {"bytes_freed", m.dry_run ? 0 : done.bytes},
                     {"bytes", done.bytes}});
  } else if (!ctx.options.quiet && !chosen.empty()) {
    *ctx.out << (m.dry_run ? "dry run: nothing was changed; this would free " : "freed ") << ctx.size_and_bytes(done.bytes) << "\n";
  }
  return kExitOk;
}

}  // namespace

Command add_trash_command(CLI::App& parent, Context& context) {
  CLI::App* app = parent.add_subcommand("trash", "list what runs removed and still hold; empty it to free the space");
  app->require_subcommand(1);
  CLI::App* ls = app->add_subcommand("ls", "one row per run: id, time, command line, items, bytes held, status");
  auto o = std::make_shared<EmptyOptions>();
  CLI::App* empty = app->add_subcommand("empty", "delete runs' trash for good (all, the RUNs named, or those older than --older-than)");
  empty->add_option("runs", o->runs, "run ids (see trash ls)");
  empty->add_option("--older-than", o->older_than, "only runs older than DURATION (30d, 12h)");
  empty->add_flag("-n,--dry-run", o->mutation.dry_run, "print what would be deleted and how much it frees");
  empty->add_flag("-y,--yes", o->mutation.yes, "do not ask for confirmation (needed without a terminal)");
  return Command{app, [&context, ls, empty, o]() -> int {
                   if (ls->parsed()) return run_ls(context);
                   if (empty->parsed()) return run_empty(context, *o);
                   return kExitUsage;
                 }};
}

}  // namespace regsweep::cli
