// `regsweep restore RUN`: put back everything a run removed, through the one executor.
#include "cli.h"
#include "regsweep/apply/restore.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

struct RestoreOptions {
  std::string run;
  bool keep_newer = false;  // --keep-newer
  MutationOptions mutation;
};

void list(Context& ctx, const std::string& title, const std::vector<std::string>& items) {
  if (items.empty() || ctx.options.json) return;
  *ctx.err << title << "\n";
  for (const auto& i : items) *ctx.err << "  " << i << "\n";
}

int run_restore(Context& ctx, const RestoreOptions& o) {
  const MutationOptions& m = o.mutation;
  if (!m.dry_run) require_confirmation_channel(ctx, m);
  apply::Session session(ctx.store(), session_options(ctx, m.dry_run, m.force, true), *ctx.err);
  for (const apply::RunSummary& done : session.recovered())
    if (done.command == "restore" && done.arguments == std::vector<std::string>{o.run}) {
      // This same restore was killed, and opening the session has just finished it.
      if (ctx.options.json) print_json(ctx, {{"run", o.run}, {"recovered_run", done.run_id}, {"restored", done.restored}});
      else if (!ctx.options.quiet) *ctx.out << "the interrupted restore of " << o.run << " (run " << done.run_id << ") was finished\n";
      return kExitOk;
    }
  apply::RestorePlan rp = apply::plan_restore(session.store(), session.state(), o.run, o.keep_newer);

  json doc = {{"run", o.run},          {"dry_run", m.dry_run},          {"conflicts", rp.conflicts}, {"kept_newer", rp.kept_newer},
              {"broken", rp.broken},   {"purged", rp.purged},           {"purged_bytes", rp.purged_bytes},
              {"plan", plan::plan_to_json(rp.plan)}};
  list(ctx, "re-created since the run (a newer item is there now):", rp.conflicts);
  list(ctx, "kept, newer than the run's (left in the trash):", rp.kept_newer);
  list(ctx, "would be broken after the restore (what they need is gone for good):", rp.broken);
  if (!rp.purged.empty() && !ctx.options.json && !ctx.options.quiet)
    *ctx.out << "note: the run deleted " << rp.purged.size() << " blob folder(s) for good (" << ctx.size(rp.purged_bytes)
             << "); they cannot come back\n";
  auto refuse = [&](const std::string& what, const std::string& hint) -> int {
    doc["refused"] = what;
    if (ctx.options.json) print_json(ctx, doc);
    throw SafetyRefusal(what, session.store().locate(apply::state::run_dir(o.run)), hint);
  };
  if (!rp.broken.empty())
    return refuse(std::to_string(rp.broken.size()) + " restored link(s) would point at blobs that are gone; nothing was restored",
                  "the blobs were swept without --trash (or their run's trash was emptied); the tags cannot come back");
  if (!rp.conflicts.empty())
    return refuse(std::to_string(rp.conflicts.size()) + " path(s) were re-created since the run; nothing was restored",
                  "--keep-newer restores the rest and keeps the newer items");

  print_plan(ctx, rp.plan, m);
  std::optional<apply::RunSummary> done;
  if (m.plan_out.empty()) done = confirm_and_execute(ctx, session, rp.plan, m, "put these back?");
  if (done) doc["result"] = run_summary_json(*done);
  if (ctx.options.json) {
    print_json(ctx, doc);
  } else if (done && !ctx.options.quiet) {
    if (m.dry_run)
      *ctx.out << "dry run: nothing was changed\n";
    else
      *ctx.out << "restored " << done->restored << " items from run " << o.run << (done->already_gone ? " (" + std::to_string(done->already_gone) + " were back already)" : "")
               << "; restore run " << done->run_id << "\n";
  }
  return kExitOk;
}

}  // namespace

Command add_restore_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<RestoreOptions>();
  CLI::App* app = parent.add_subcommand("restore", "put back everything a run removed (see trash ls); the tree is as it was before the run");
  app->add_option("run", o->run, "the run id (regsweep trash ls)")->required();
  app->add_flag("-n,--dry-run", o->mutation.dry_run, "print what would be put back, change nothing");
  app->add_flag("-y,--yes", o->mutation.yes, "do not ask for confirmation (needed without a terminal)");
  app->add_flag("--keep-newer", o->keep_newer,
                "when a path was re-created since the run (a tag pushed again), keep the newer one and restore the rest");
  app->add_flag("--force", o->mutation.force, "act even if a registry appears to be serving this storage");
  return Command{app, [&context, o] { return run_restore(context, *o); }};
}

}  // namespace regsweep::cli
