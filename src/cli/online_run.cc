// Running a plan on a registry over its API (online rm, prune and apply): show it, write
// --plan-out or ask, then DELETE by digest with the manifests saved to the local trash first
// (online/execute.h), and say how to undo it.
#include <unistd.h>

#include "cli.h"
#include "regsweep/apply/state.h"
#include "regsweep/apply/state_store.h"
#include "regsweep/error.h"
#include "regsweep/online/execute.h"

namespace regsweep::cli {

int run_online_plan(Context& ctx, const plan::Plan& plan, const MutationOptions& m, nlohmann::json doc, bool check_all_first) {
  online::RegistryClient& client = ctx.registry_client();
  online::check_online_plan(plan);
  // --protect: checked against the registry as it is now (rm, prune and a plan file alike).
  if (!ctx.options.protect.empty()) refuse_protected(ctx, ctx.load_online_model({}), plan);
  print_plan(ctx, plan, m);
  doc["dry_run"] = m.dry_run;
  doc["registry"] = client.base_url();
  doc["plan"] = plan::plan_to_json(plan);
  if (!m.plan_out.empty()) {
    if (ctx.options.json) print_json(ctx, {{"plan", plan::plan_to_json(plan)}, {"plan_out", m.plan_out}});
    return kExitOk;
  }
  if (!m.dry_run && check_all_first) {
    // A plan made earlier: every precondition is checked before the first DELETE (reads only),
    // so that a tag moved since refuses the plan as a whole; each is checked again just before
    // its DELETE.
    try {
      online::execute_online(client, nullptr, nullptr, plan, online::ExecuteOptions{true, ctx.command_line, ctx.now_ns()});
    } catch (const SafetyRefusal& e) {
      throw SafetyRefusal(std::string(e.what()) + " (checked before the first DELETE: nothing was deleted)", e.path(), e.hint());
    }
  }
  if (!m.dry_run && !plan.actions.empty() && !confirm(ctx, m, "delete these from " + client.base_url() + "?")) {
    *ctx.err << "nothing was changed\n";
    return kExitOk;
  }
  online::ExecuteOptions eo{m.dry_run, ctx.command_line, ctx.now_ns()};
  apply::RunSummary done;
  if (m.dry_run) {
    done = online::execute_online(client, nullptr, nullptr, plan, eo);
  } else {
    storage::Store& store = ctx.store();
    std::unique_ptr<apply::StateStore> state = apply::open_state_store(store);
    std::string holder;
    std::unique_ptr<apply::StateLock> lock = state->lock("pid " + std::to_string(::getpid()) + ": " + ctx.command_line + "\n", holder);
    if (!lock)
      throw SafetyRefusal("another regsweep is working on this registry: " + holder, store.locate(apply::state::kLock), "wait for it to finish");
    done = online::execute_online(client, &store, state.get(), plan, eo);
  }
  doc["result"] = run_summary_json(done);
  if (ctx.options.json) print_json(ctx, doc);
  if (ctx.options.json || ctx.options.quiet) return kExitOk;
  std::ostream& out = *ctx.out;
  if (m.dry_run) {
    out << "dry run: nothing was deleted (" << done.removed << " items would go";
    if (done.already_gone) out << ", " << done.already_gone << " are gone already";
    out << ")\n";
    return kExitOk;
  }
  if (done.run_id.empty()) {
    out << "nothing was deleted" << (done.already_gone ? " (" + std::to_string(done.already_gone) + " items were already gone)" : "") << "\n";
    return kExitOk;
  }
  out << "deleted " << done.removed << " items";
  if (done.already_gone) out << " (" << done.already_gone << " were already gone)";
  out << "; run " << done.run_id << "\n";
  out << "the manifests and their tags are saved in " << ctx.store().locate(apply::state::run_dir(done.run_id))
      << "; `regsweep --registry " << client.base_url() << " restore " << done.run_id << "` puts them back while the registry still has their blobs\n";
  out << "note: the registry frees the blobs only when its garbage collector runs, on the registry's host: "
         "`docker-registry garbage-collect /etc/docker/registry/config.yml` (registry stopped or read-only), then restart it\n";
  return kExitOk;
}

}  // namespace regsweep::cli
