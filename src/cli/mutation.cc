// What every mutating command shares: --dry-run/--yes/--force/--plan-out, printing the
// plan, asking for confirmation, printing what was done.
#include <unistd.h>

#include <iostream>

#include "cli.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/util/format.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

using nlohmann::json;

void add_mutation_options(CLI::App& app, MutationOptions& o) {
  app.add_flag("-n,--dry-run", o.dry_run, "print what would be removed, change nothing");
  app.add_flag("-y,--yes", o.yes, "do not ask for confirmation (needed without a terminal)");
  app.add_flag("--force", o.force, "act even if a registry appears to be serving this storage");
  app.add_option("--plan-out", o.plan_out, "write the plan to FILE (JSON) and change nothing; run it later with `apply`");
}

namespace {

std::string what(const plan::Action& a) {
  switch (a.kind) {
    case plan::ActionKind::RemoveTag: return a.repository + ":" + a.tag;
    case plan::ActionKind::RemoveRevision:
    case plan::ActionKind::RemoveTagIndexEntry:
    case plan::ActionKind::RemoveLayerLink: return a.repository + "@" + (a.digest ? a.digest->str() : "");
    case plan::ActionKind::RemoveBlob: return a.digest ? a.digest->str() : a.storage_key();
    default: return a.storage_key();
  }
}

std::string label(plan::ActionKind k) {
  switch (k) {
    case plan::ActionKind::RemoveLinkFile: return "bad link";
    case plan::ActionKind::RestoreFolder: return "folder";
    case plan::ActionKind::RestoreItem: return "restore";
    case plan::ActionKind::RemoveTempFile: return "temp file";
    case plan::ActionKind::RemoveTag: return "tag";
    case plan::ActionKind::RemoveTagIndexEntry: return "tag history";
    case plan::ActionKind::RemoveRevision: return "manifest";
    case plan::ActionKind::RemoveLayerLink: return "layer link";
    case plan::ActionKind::RemoveUpload: return "upload";
    case plan::ActionKind::RemoveRepositoryPart: return "repository";
    case plan::ActionKind::RemoveEmptyFolder: return "folder";
    case plan::ActionKind::RemoveBlob: return "blob";
  }
  return "item";
}

}  // namespace

apply::SessionOptions session_options(Context& ctx, bool read_only, bool force, bool refuse_readonly_registry) {
  apply::SessionOptions so;
  so.dry_run = read_only;
  so.force = force;
  so.registry_stopped = ctx.options.registry_stopped;
  so.refuse_readonly_registry = refuse_readonly_registry;
  so.command_line = ctx.command_line;
  so.config = ctx.registry_config();
  so.now_ns = ctx.now_ns();
  so.jobs = ctx.jobs();
  so.progress = &ctx.progress();
  return so;
}

void print_notes(Context& ctx, const plan::Plan& plan) {
  if (ctx.options.json || ctx.options.quiet) return;
  for (const auto& note : plan.notes) *ctx.out << "note: " << note << "\n";
}

void print_plan(Context& ctx, const plan::Plan& plan, const MutationOptions& o) {
  if (!o.plan_out.empty()) {
    apply::state::write_file_atomically(*ctx.fs, o.plan_out,
                                        plan::plan_to_json(plan).dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  }
  if (ctx.options.json) return;  // the JSON document is printed once, at the end
  std::ostream& out = *ctx.out;
  print_notes(ctx, plan);
  const std::string verb = plan.restores_run.empty() ? "remove" : "restore";
  if (plan.actions.empty()) {
    out << "nothing to " << verb << "\n";
    return;
  }
  out << (o.dry_run || !o.plan_out.empty() ? "would " : "will ") << verb << " (" << plan.actions.size() << " items):\n";
  util::Table t({"WHAT", "ITEM", "REASON"});
  for (const auto& a : plan.actions) {
    if (a.kind == plan::ActionKind::RemoveEmptyFolder && ctx.options.verbose == 0) continue;
    t.add_row({label(a.kind), what(a), a.reason});
  }
  t.print(out, ctx.out_style());
  if (plan.gc_would_free)
    out << "a garbage collection would then free " << ctx.size_and_bytes(plan.gc_would_free) << "\n";
  if (plan.bytes()) out << "this frees " << ctx.out_style().bold(ctx.size(plan.bytes())) << "\n";
  if (!o.plan_out.empty()) out << "plan written to " << o.plan_out << "; nothing was changed\n";
}

std::int64_t duration_option(const std::string& text, const char* option) {
  auto s = util::parse_duration_seconds(text);
  if (!s) throw UsageError(std::string(option) + " takes a duration such as 90s, 30m, 12h or 7d, not \"" + text + "\"", "");
  return *s;
}

void require_confirmation_channel(Context&, const MutationOptions& o) {
  if (!o.yes && !::isatty(STDIN_FILENO))
    throw UsageError("refusing to delete without confirmation: no terminal to ask on", "",
                     "pass --yes to confirm, or --dry-run to see what would go");
}

bool confirm(Context& ctx, const MutationOptions& o, const std::string& question) {
  require_confirmation_channel(ctx, o);
  if (o.yes) return true;
  *ctx.err << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

nlohmann::json run_summary_json(const apply::RunSummary& s) {
  return {{"run", s.run_id},
          {"removed", s.removed},
          {"already_gone", s.already_gone},
          {"kept_folders", s.kept_folders},
          {"bytes_freed", s.bytes_freed},
          {"bytes_in_trash", s.bytes_in_trash}};
}

void print_run_summary(Context& ctx, const apply::RunSummary& s, const MutationOptions& o) {
  if (ctx.options.json || ctx.options.quiet) return;
  std::ostream& out = *ctx.out;
  if (o.dry_run) {
    out << "dry run: nothing was changed\n";
    return;
  }
  if (s.run_id.empty()) {  // the run changed nothing and left nothing in the trash
    out << "nothing was removed";
    if (s.already_gone) out << " (" << s.already_gone << " items were already gone)";
    out << "\n";
    return;
  }
  out << "removed " << s.removed << " items";
  if (s.already_gone) out << " (" << s.already_gone << " were already gone)";
  out << "; run " << s.run_id << "\n";
  if (s.bytes_freed) out << "freed " << ctx.out_style().green(ctx.size(s.bytes_freed)) << "\n";
  // Blob folders a gc without --trash deleted are gone for good: never say they are kept.
  const std::uint64_t kept = s.removed - std::min(s.purged, s.removed);
  if (s.purged) out << s.purged << " blob folder(s) were deleted for good (gc --trash would have kept them)\n";
  if (kept) {
    out << (s.purged ? "the other " + std::to_string(kept) + " removed item(s) are" : std::string("removed items are")) << " kept in "
        << apply::state::run_dir(s.run_id) << " below the root";
    if (s.bytes_in_trash) out << " (" << ctx.size(s.bytes_in_trash) << ")";
    out << "\n";
  }
}

}  // namespace regsweep::cli
