// `regsweep rm`: delete tags, digests and whole repositories, as the registry's API would.
#include <algorithm>
#include <set>

#include "cli.h"
#include "pipeline.h"
#include "regsweep/apply/session.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/online/execute.h"
#include "regsweep/plan/blind_spots.h"
#include "regsweep/plan/rm.h"

namespace regsweep::cli {

namespace {

struct RmOptions {
  std::vector<std::string> references;
  std::vector<std::string> repositories;
  bool untag = false;
  bool no_referrers = false;
  bool break_index = false;
  MutationOptions mutation;
};

// rm's part in the pipeline: the API's deletes, and a word on what could not be read.
class RmCommand : public MutationCommand {
 public:
  RmCommand(Context& ctx, const plan::RmRequest& request, std::vector<std::string> arguments)
      : ctx_(ctx), request_(request), arguments_(std::move(arguments)) {}

  plan::Plan plan(const storage::Model& model) override {
    plan::Plan plan = plan::plan_rm(model, request_);
    plan.arguments = arguments_;
    if (std::size_t elsewhere = plan::refuse_blind_spots_in_touched_repositories(model, plan, "rm"); elsewhere && !ctx_.options.quiet)
      *ctx_.err << "regsweep: note: " << elsewhere << (elsewhere == 1 ? " part" : " parts")
                << " of the storage could not be read (named above); rm goes on, since deleting a tag or manifest depends "
                   "only on the repositories it changes, which were read in full (gc refuses until everything can be read)\n";
    return plan;
  }
  void show(const plan::Plan& plan, const MutationOptions& m) override { print_plan(ctx_, plan, m); }
  nlohmann::json document(const plan::Plan& plan, const storage::Model& model, const MutationOptions& m) override {
    return {{"dry_run", m.dry_run}, {"plan", plan::plan_to_json(plan)}, {"findings", findings_json(model)}};
  }
  std::string question() const override { return "remove these?"; }

 private:
  Context& ctx_;
  const plan::RmRequest& request_;
  std::vector<std::string> arguments_;
};

// Online, a DELETE by digest removes every tag on it: `rm repo:tag` refuses when a tag the user
// did not name would go with it (naming the digest, or every tag, says it is meant).
void refuse_unnamed_shared_tags(const plan::Plan& plan, const plan::RmRequest& request, const std::string& registry) {
  std::set<std::pair<std::string, std::string>> named;
  std::set<std::pair<std::string, Digest>> by_digest;
  for (const util::ImageReference& r : request.references) {
    if (r.digest) by_digest.emplace(r.repository, *r.digest);
    else named.emplace(r.repository, r.tag);
  }
  std::vector<std::string> shared;
  for (const plan::Action& a : plan.actions) {
    if (a.kind != plan::ActionKind::RemoveTag || !a.digest) continue;
    if (named.count({a.repository.str(), a.tag.str()}) || plan::is_referrer_tag(a.tag.str()) || by_digest.count({a.repository.str(), *a.digest}))
      continue;
    shared.push_back(a.repository + ":" + a.tag + " (" + a.digest->str() + ")");
  }
  if (shared.empty()) return;
  std::string list;
  for (const auto& s : shared) list += (list.empty() ? "" : ", ") + s;
  throw SafetyRefusal("the registry deletes a manifest with every tag on it, and these tags name a manifest to delete but were not named: " +
                          list + "; nothing was deleted",
                      registry, "name those tags too, or the manifest by digest (rm REPO@sha256:...), to delete them all");
}

}  // namespace

// A reference naming another registry than --registry would otherwise act on its namesake here.
void refuse_references_to_another_registry(const Context& ctx, const std::vector<std::string>& references) {
  const std::string host = online::registry_host(ctx.options.online.registry);
  for (const std::string& r : references)
    if (std::string h = online::reference_host(r); !h.empty() && h != host)
      throw UsageError("the reference names the registry " + h + ", not " + host + " (--registry)", r,
                       "drop the host from the reference, or give --registry https://" + h);
}

namespace {

int run_rm_online(Context& ctx, const RmOptions& o, const plan::RmRequest& request, const std::vector<std::string>& arguments) {
  const MutationOptions& m = o.mutation;
  if (!request.repositories.empty())
    throw UsageError("the registry's API cannot delete a repository", ctx.options.online.registry,
                     "delete its tags or manifests (rm REPO:TAG...), or use rm --repository on the registry's storage");
  if (request.untag)
    throw UsageError("--untag needs a DELETE by tag, which registry 2.8 does not have (distribution 3.x has): deleting the digest instead "
                     "would remove the manifest and every other tag on it",
                     ctx.options.online.registry, "run `regsweep rm --untag` on the registry's storage (--root or --config)");
  refuse_references_to_another_registry(ctx, o.references);
  const bool read_only = m.dry_run || !m.plan_out.empty();
  if (!read_only) require_confirmation_channel(ctx, m);
  std::vector<std::string> repositories;
  for (const util::ImageReference& r : request.references)
    if (std::find(repositories.begin(), repositories.end(), r.repository) == repositories.end()) repositories.push_back(r.repository);
  storage::Model model = ctx.load_online_model(repositories);
  plan::Plan plan = plan::plan_rm(model, request);
  plan.arguments = arguments;
  online::RegistryClient& client = ctx.registry_client();
  refuse_unnamed_shared_tags(plan, request, client.base_url());
  plan.registry = client.base_url();
  return run_online_plan(ctx, plan, m, {{"findings", findings_json(model)}}, false);
}

int run_rm(Context& ctx, const RmOptions& o) {
  plan::RmRequest request;
  // Every reference is checked before any work.
  for (const auto& r : o.references) request.references.push_back(util::parse_image_reference(r));
  for (const auto& r : o.repositories) request.repositories.push_back(util::parse_repository_name(r));
  if (request.references.empty() && request.repositories.empty())
    throw UsageError("nothing to remove: give references (repo:tag, repo@sha256:...) or --repository REPO", "");
  request.untag = o.untag;
  request.referrers = !o.no_referrers;
  request.break_index = o.break_index;
  std::vector<std::string> arguments = o.references;
  for (const auto& r : o.repositories) arguments.push_back("--repository=" + r);
  if (ctx.online()) return run_rm_online(ctx, o, request, arguments);
  const MutationOptions& m = o.mutation;
  const bool read_only = m.dry_run || !m.plan_out.empty();
  if (!read_only) require_confirmation_channel(ctx, m);  // refuse before anything is opened

  apply::SessionOptions so = session_options(ctx, read_only, m.force, false);
  apply::Session session(ctx.store(), so, *ctx.err);
  for (const apply::RunSummary& done : session.recovered())
    if (done.command == "rm" && done.arguments == arguments) {
      // The same command was killed and has just been finished: it is done.
      if (!ctx.options.quiet && !ctx.options.json)
        *ctx.out << "the interrupted run " << done.run_id << " of this same command was finished; nothing left to do\n";
      if (ctx.options.json) print_json(ctx, {{"recovered_run", done.run_id}, {"removed", done.removed}});
      return kExitOk;
    }
  RmCommand command(ctx, request, arguments);
  return run_mutation(ctx, session, command, m);
}

}  // namespace

Command add_rm_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<RmOptions>();
  CLI::App* app = parent.add_subcommand("rm", "delete tags, manifests or whole repositories (as the registry's API would; online: "
                                                      "DELETE by digest, undone by `restore`)");
  app->add_option("references", o->references, "repo:tag or repo@sha256:<hex> (a registry host in front is dropped)");
  app->add_option("--repository", o->repositories, "delete a whole repository (nested repositories below it stay; not online: the API has no such delete)");
  app->add_flag("--untag", o->untag, "remove only the tag; its manifest and other tags stay (not online: registry 2.8 has no DELETE by tag)");
  app->add_flag("--no-referrers", o->no_referrers, "keep signatures, attestations and SBOMs of deleted manifests");
  app->add_flag("--break-index", o->break_index,
                "delete a manifest although an index that a remaining tag names lists it (that platform will not pull)");
  add_mutation_options(*app, o->mutation);
  return Command{app, [&context, o] { return run_rm(context, *o); }};
}

}  // namespace regsweep::cli
