#include "pipeline.h"

#include <algorithm>

#include "regsweep/error.h"
#include "regsweep/plan/gc.h"

namespace regsweep::cli {

namespace {
constexpr int kMaxReplans = 3;
}  // namespace

bool MutationCommand::sweeps(const plan::Plan& plan) const {
  return std::any_of(plan.actions.begin(), plan.actions.end(), [](const plan::Action& a) { return a.kind == plan::ActionKind::RemoveBlob; });
}

nlohmann::json MutationCommand::plan_out_document(const plan::Plan& plan, const MutationOptions& options) {
  return {{"plan", plan::plan_to_json(plan)}, {"plan_out", options.plan_out}};
}

bool MutationCommand::confirm(Context& ctx, const plan::Plan& plan, const MutationOptions& options) {
  return options.dry_run || plan.actions.empty() || cli::confirm(ctx, options, question());
}

void MutationCommand::declined(Context& ctx) { *ctx.err << "nothing was changed\n"; }

void MutationCommand::report(Context& ctx, const apply::RunSummary& summary, const MutationOptions& options) {
  print_run_summary(ctx, summary, options);
}

void refuse_protected(Context& ctx, const storage::Model& model, const plan::Plan& plan) {
  if (ctx.options.protect.empty()) return;
  plan::refuse_protected(plan, plan::resolve_protection(model, ctx.protect_entries()));
}

int run_mutation(Context& ctx, apply::Session& session, MutationCommand& command, const MutationOptions& m) {
  return run_mutation(ctx, [&]() -> apply::Session& { return session; }, command, m);
}

int run_mutation(Context& ctx, const std::function<apply::Session&()>& session, MutationCommand& command, const MutationOptions& m) {
  const bool read_only = m.dry_run || !m.plan_out.empty();
  storage::Model model = !command.walks() ? storage::Model{} : command.shows_findings() ? ctx.load_model() : ctx.walk_again();
  plan::Plan plan = command.plan(model);
  // A sweep is planned, then the storage looked at again: links that appeared meanwhile (a
  // push under a registry we were told to ignore) are marked from too, by planning again
  // from the newer tree. The executor is then given that tree, the newest walk.
  const bool recheck = command.walks() && !read_only && command.replans() && command.sweeps(plan);
  for (int i = 0; recheck; ++i) {
    if (i == kMaxReplans)
      throw SafetyRefusal("the storage keeps changing while " + plan.command + " plans; refusing to sweep", ctx.root(),
                          "stop whatever writes to it (a registry?) and run " + plan.command + " again");
    // A bucket listed again as it was: nothing appeared (no need to read it all again).
    if (ctx.unchanged_since(model)) break;
    storage::Model again = ctx.walk_again();
    const bool appeared = plan::links_appeared(model, again);
    model = std::move(again);
    if (!appeared) break;
    *ctx.err << "regsweep: links appeared while planning (is something pushing?); planning again\n";
    plan = command.plan(model);
  }
  if (!ctx.options.protect.empty()) {
    // A plan made without a walk (apply, the menu) is checked against the storage as it is.
    if (command.walks())
      refuse_protected(ctx, model, plan);
    else
      refuse_protected(ctx, ctx.online() ? ctx.load_online_model({}) : ctx.walk_again(), plan);
  }
  command.show(plan, m);
  if (!m.plan_out.empty()) {
    if (ctx.options.json) print_json(ctx, command.plan_out_document(plan, m));
    return command.exit_code();
  }
  if (plan.actions.empty() && !command.runs_empty_plans()) {
    if (ctx.options.json) print_json(ctx, command.document(plan, model, m));
    return command.exit_code();
  }
  if (!command.confirm(ctx, plan, m)) {
    command.declined(ctx);
    return command.exit_code();
  }
  std::optional<apply::RunSummary> done;
  try {
    // The executor checks a blob sweep against the newest walk: this one when it was just
    // made, else one of its own.
    const bool fresh = !m.dry_run && command.walks() && (recheck || !command.replans());
    done = session().execute(plan, fresh ? &model : nullptr);
  } catch (const Error&) {
    command.on_error(m);
    throw;
  }
  nlohmann::json doc = command.document(plan, model, m);
  doc["result"] = run_summary_json(*done);
  try {
    command.after_run(*done, doc, m);
  } catch (const Error&) {
    command.on_error(m);
    throw;
  }
  if (ctx.options.json) print_json(ctx, doc);
  command.report(ctx, *done, m);
  command.last_words(m);
  return command.exit_code();
}

}  // namespace regsweep::cli
