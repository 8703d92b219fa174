// `regsweep apply FILE`: run a plan written earlier by --plan-out, if it still holds.
#include <fstream>
#include <sstream>

#include "cli.h"
#include "pipeline.h"
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
  for (const auto& a : p.actions) apply::state::check_storage_path(a.storage_key());
  return p;
}

// apply's part in the pipeline: the plan read from its file, refused as a whole when any of
// its preconditions no longer holds on the storage as walked.
class ApplyCommand : public MutationCommand {
 public:
  ApplyCommand(Context& ctx, apply::Session& session, plan::Plan plan, std::string file)
      : ctx_(ctx), session_(session), plan_(std::move(plan)), file_(std::move(file)) {}

  plan::Plan plan(const storage::Model& model) override {
    std::vector<std::string> stale = session_.violations(plan_);
    for (auto& s : plan::blobs_referenced_anew(model, plan_)) stale.push_back(std::move(s));
    if (!stale.empty()) {
      for (const auto& s : stale) *ctx_.err << "regsweep: stale plan: " << s << "\n";
      throw SafetyRefusal("the storage changed since the plan was made (" + std::to_string(stale.size()) +
                              " precondition(s) no longer hold); nothing was changed",
                          file_, "make the plan again");
    }
    return plan_;
  }
  bool replans() const override { return false; }
  void show(const plan::Plan& plan, const MutationOptions& m) override { print_plan(ctx_, plan, m); }
  nlohmann::json document(const plan::Plan& plan, const storage::Model&, const MutationOptions& m) override {
    return {{"dry_run", m.dry_run}, {"plan", plan::plan_to_json(plan)}};
  }
  std::string question() const override { return "apply this plan?"; }

 private:
  Context& ctx_;
  apply::Session& session_;
  plan::Plan plan_;
  std::string file_;
};

// Online: a plan written by an online --plan-out for this same registry, each tag checked
// again before the first DELETE and just before its own.
int run_apply_online(Context& ctx, const ApplyOptions& o, const plan::Plan& p) {
  const std::string& here = ctx.registry_client().base_url();
  if (p.registry.empty())
    throw SafetyRefusal("the plan was made on a registry's storage, not over the API; nothing was changed", o.file,
                        "apply it with --root or --config, or make the plan again with --registry " + here);
  if (p.registry != here)
    throw SafetyRefusal("the plan was made for the registry " + p.registry + ", not " + here + "; nothing was changed", o.file,
                        "apply it with --registry " + p.registry + ", or make the plan again");
  if (!o.mutation.dry_run) require_confirmation_channel(ctx, o.mutation);
  return run_online_plan(ctx, p, o.mutation, {{"plan_file", o.file}}, true);
}

int run_apply(Context& ctx, const ApplyOptions& o) {
  const MutationOptions& m = o.mutation;
  plan::Plan p = read_plan(o.file);
  if (ctx.online()) return run_apply_online(ctx, o, p);
  if (!p.registry.empty())
    throw SafetyRefusal("the plan was made over the API of the registry " + p.registry + ", not on a storage; nothing was changed", o.file,
                        "regsweep --registry " + p.registry + " apply " + o.file);
  if (!m.dry_run) require_confirmation_channel(ctx, m);

  apply::SessionOptions so = session_options(ctx, m.dry_run, m.force, std::any_of(p.actions.begin(), p.actions.end(),
                                            [](const plan::Action& a) { return a.kind == plan::ActionKind::RemoveBlob; }));
  apply::Session session(ctx.store(), so, *ctx.err);

  ApplyCommand command(ctx, session, std::move(p), o.file);
  return run_mutation(ctx, session, command, m);
}

}  // namespace

Command add_apply_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<ApplyOptions>();
  CLI::App* app = parent.add_subcommand("apply", "run a plan written by --plan-out, refusing if the storage (online: the registry) changed since");
  app->add_option("plan", o->file, "the plan file (JSON)")->required();
  app->add_flag("-n,--dry-run", o->mutation.dry_run, "check the plan and print it, change nothing");
  app->add_flag("-y,--yes", o->mutation.yes, "do not ask for confirmation (needed without a terminal)");
  app->add_flag("--force", o->mutation.force, "act even if a registry appears to be serving this storage");
  return Command{app, [&context, o] { return run_apply(context, *o); }};
}

}  // namespace regsweep::cli
