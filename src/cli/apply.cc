// `regsweep apply FILE`: run a plan written earlier by --plan-out, if it still holds.
#include <fstream>
#include <sstream>

#include "cli.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"

namespace regsweep::cli {

namespace {

struct ApplyOptions {
  std::string file;
  MutationOptions mutation;
};

plan::Plan read_plan(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read the plan", file);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw Error("the plan is not JSON", file);
  plan::Plan p = plan::plan_from_json(doc, file);
  for (const auto& a : p.actions) apply::state::check_storage_path(a.path);
  return p;
}

int run_apply(Context& ctx, const ApplyOptions& o) {
  const MutationOptions& m = o.mutation;
  plan::Plan p = read_plan(o.file);
  if (!m.dry_run) require_confirmation_channel(ctx, m);

  apply::SessionOptions so = session_options(ctx, m.dry_run, m.force, std::any_of(p.actions.begin(), p.actions.end(),
                                            [](const plan::Action& a) { return a.kind == plan::ActionKind::RemoveBlob; }));
  apply::Session session(ctx.store(), so, *ctx.err);

  // Every recorded precondition, checked before the first removal.
  std::vector<std::string> stale = session.violations(p);
  storage::Model model = ctx.load_model();
  for (auto& s : plan::blobs_referenced_anew(model, p)) stale.push_back(std::move(s));
  if (!stale.empty()) {
    for (const auto& s : stale) *ctx.err << "regsweep: stale plan: " << s << "\n";
    throw SafetyRefusal("the storage changed since the plan was made (" + std::to_string(stale.size()) +
                            " precondition(s) no longer hold); nothing was changed",
                        o.file, "make the plan again");
  }
  print_plan(ctx, p, m);
  auto done = confirm_and_execute(ctx, session, p, m, "apply this plan?", &model);
  if (!done) return kExitOk;
  const apply::RunSummary& summary = *done;
  if (ctx.options.json)
    print_json(ctx, {{"dry_run", m.dry_run}, {"plan", plan::plan_to_json(p)},
                     {"result", run_summary_json(summary)}});
  print_run_summary(ctx, summary, m);
  return kExitOk;
}

}  // namespace

Command add_apply_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<ApplyOptions>();
  CLI::App* app = parent.add_subcommand("apply", "run a plan written by --plan-out, refusing if the storage changed since");
  app->add_option("plan", o->file, "the plan file (JSON)")->required();
  app->add_flag("-n,--dry-run", o->mutation.dry_run, "check the plan and print it, change nothing");
  app->add_flag("-y,--yes", o->mutation.yes, "do not ask for confirmation (needed without a terminal)");
  app->add_flag("--force", o->mutation.force, "act even if a registry appears to be serving this storage");
  return Command{app, [&context, o] { return run_apply(context, *o); }};
}

}  // namespace regsweep::cli
