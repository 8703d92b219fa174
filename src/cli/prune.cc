// `regsweep prune`: retention policies (online too: --registry, with creation times for push times).
#include <algorithm>
#include <set>

#include "cli.h"
#include "pipeline.h"
#include "regsweep/error.h"
#include "regsweep/plan/blind_spots.h"
#include "regsweep/plan/prune.h"
#include "regsweep/storage/image_info.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/format.h"
#include "regsweep/util/glob.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

struct PruneOptions {
  std::vector<std::string> repos;
  std::vector<std::string> match;
  std::vector<std::string> keep;
  bool no_default_keep = false;
  std::optional<std::uint64_t> keep_last;
  std::string older_than;
  bool untagged = false;
  bool no_referrers = false;
  bool gc = false;
  MutationOptions mutation;
};

// The config's `created` of every tagged manifest in the selected repositories: only
// --keep-last needs it (to break ties of push time).
std::map<Digest, std::int64_t> created_times(Context& ctx, const storage::Model& model) {
  std::map<Digest, std::int64_t> out;
  for (const auto& repo : model.repositories)
    for (const auto& tag : repo.tags) {
      if (!tag.current || out.count(*tag.current)) continue;
      auto text = storage::read_image_created(ctx.store(), model, *tag.current);
      out[*tag.current] = text ? util::parse_rfc3339(*text).value_or(0) : 0;
    }
  return out;
}

json decisions_json(const plan::PrunePlan& p) {
  json out = json::array();
  for (const auto& d : p.decisions)
    out.push_back({{"repository", d.repository},
                   {"tag", d.tag},
                   {"digest", d.digest ? json(d.digest->str()) : json(nullptr)},
                   {"pushed", d.pushed_ns ? json(util::rfc3339_utc(d.pushed_ns)) : json(nullptr)},
                   {"verdict", d.verdict == plan::TagVerdict::Deleted ? "deleted" : "kept"},
                   {"untag_only", d.untag_only},
                   {"reason", d.reason}});
  return out;
}

void print_decisions(Context& ctx, const plan::PrunePlan& p) {
  if (ctx.options.json || ctx.options.quiet) return;
  std::string repo;
  util::Table* table = nullptr;
  std::vector<std::pair<std::string, util::Table>> tables;
  for (const auto& d : p.decisions) {
    if (d.repository != repo) {
      repo = d.repository;
      tables.emplace_back(repo, util::Table({"", "TAG", ctx.online() ? "CREATED" : "PUSHED", "REASON"}));
      table = &tables.back().second;
    }
    table->add_row({d.verdict == plan::TagVerdict::Deleted ? "delete" : "keep", d.tag,
                    d.pushed_ns ? ctx.time(d.pushed_ns) : "-", d.reason});
  }
  for (const auto& [name, t] : tables) {
    *ctx.out << name << ":\n";
    t.print(*ctx.out, ctx.out_style());
    auto freed = p.gc_would_free_by_repository.find(name);
    if (freed != p.gc_would_free_by_repository.end())
      *ctx.out << "  a garbage collection would then free " << ctx.size(freed->second) << " of this repository's data\n";
    *ctx.out << "\n";
  }
}

// prune's part in the pipeline: the decisions per tag, and with --gc the sweep in the same
// plan, computed on the tree as prune will leave it.
class PruneCommand : public MutationCommand {
 public:
  PruneCommand(Context& ctx, const plan::PrunePolicy& policy, bool with_gc) : ctx_(ctx), policy_(policy), with_gc_(with_gc) {}

  plan::Plan plan(const storage::Model& model) override {
    std::map<Digest, std::int64_t> created;
    if (policy_.keep_last) created = created_times(ctx_, model);
    pruned_ = plan::plan_prune(model, policy_, created);
    pruned_.plan.arguments = {ctx_.command_line};
    plan::refuse_blind_spots_in_touched_repositories(model, pruned_.plan, "prune");
    gc_.reset();
    if (with_gc_) {
      // The executor checks the blobs against the storage before sweeping.
      plan::GcRequest req;
      req.now_ns = policy_.now_ns;
      gc_ = plan::plan_gc(plan::simulate(model, pruned_.plan), req);
      for (auto& a : gc_->plan.actions) pruned_.plan.actions.push_back(std::move(a));
      gc_->plan.actions.clear();  // its stats stay, for the counts shown
      pruned_.plan.order();
    }
    return std::move(pruned_.plan);  // kept once: the pipeline holds it from here
  }
  void show(const plan::Plan& plan, const MutationOptions& m) override {
    print_decisions(ctx_, pruned_);
    print_plan(ctx_, plan, m);
    if (gc_) print_gc_stats(ctx_, gc_->stats, GcStatsShown{m.dry_run, false, false, false, "1h"});
  }
  json plan_out_document(const plan::Plan& plan, const MutationOptions& m) override { return document(plan, {}, m); }
  json document(const plan::Plan& plan, const storage::Model&, const MutationOptions& m) override {
    return {{"dry_run", m.dry_run}, {"decisions", decisions_json(pruned_)}, {"plan", plan::plan_to_json(plan)},
            {"untagged_manifests", pruned_.untagged_manifests}, {"gc_would_free", plan.gc_would_free},
            {"gc_would_free_by_repository", pruned_.gc_would_free_by_repository}};
  }
  void after_run(const apply::RunSummary& summary, json& doc, const MutationOptions&) override {
    if (gc_) doc["gc"] = {{"summary", gc_stats_json(gc_->stats)}, {"bytes_freed", summary.bytes_freed}};
  }
  std::string question() const override { return "delete these?"; }

 private:
  Context& ctx_;
  const plan::PrunePolicy& policy_;
  bool with_gc_;
  plan::PrunePlan pruned_;
  std::optional<plan::GcPlan> gc_;
};

// Online, the API has no push time: an image's age is its creation time (the config's
// `created`, else the org.opencontainers.image.created annotation), put in the tags' pushed_ns
// of the model read over the API. Tags whose image has neither are the policy's `undated`:
// kept by age rules, and listed. Read only when an age rule needs it.
void use_created_times(Context& ctx, storage::Model& model, plan::PrunePolicy& policy) {
  policy.times_are_created = true;
  if (!policy.keep_last && !policy.older_than_s) return;
  std::map<std::pair<std::string, Digest>, std::optional<std::int64_t>> created;
  std::vector<std::string> undated;
  for (auto& repo : model.repositories) {
    if (!policy.repo_globs.empty() &&
        std::none_of(policy.repo_globs.begin(), policy.repo_globs.end(), [&](const std::string& g) { return util::glob_match(g, repo.name); }))
      continue;
    for (auto& tag : repo.tags) {
      if (!tag.current) continue;
      auto [it, fresh] = created.try_emplace({repo.name, *tag.current});
      if (fresh)
        if (auto text = ctx.image_created(model, repo.name, *tag.current)) it->second = util::parse_rfc3339(*text);
      if (it->second && *it->second > 0) {
        tag.pushed_ns = *it->second;
      } else {
        policy.undated.emplace(repo.name, tag.name);
        undated.push_back(repo.name + ":" + tag.name);
      }
    }
  }
  if (!undated.empty() && !ctx.options.quiet && !ctx.options.json) {
    *ctx.err << "regsweep: note: the registry's API has no push time, and these images have no creation time either (neither "
                "the config's created nor the org.opencontainers.image.created annotation); age rules keep them:";
    for (const auto& t : undated) *ctx.err << " " << t;
    *ctx.err << "\n";
  }
}

// Registry 2.8 has no DELETE by tag: a tag the plan only untags (a kept tag shares its digest)
// cannot go without its digest, which the keep rule protects. It is skipped and reported; its
// decision says so. Returns "repository:tag" of each.
std::vector<std::string> skip_untag_only(plan::PrunePlan& pruned) {
  plan::Plan& plan = pruned.plan;
  std::set<std::pair<std::string, Digest>> deleted;
  for (const plan::Action& a : plan.actions)
    if (a.kind == plan::ActionKind::RemoveRevision && a.digest) deleted.emplace(a.repository.str(), *a.digest);
  std::set<std::pair<std::string, std::string>> skipped;
  std::erase_if(plan.actions, [&](const plan::Action& a) {
    if (a.kind != plan::ActionKind::RemoveTag || (a.digest && deleted.count({a.repository.str(), *a.digest}))) return false;
    skipped.emplace(a.repository.str(), a.tag.str());
    return true;
  });
  std::vector<std::string> out;
  for (plan::TagDecision& d : pruned.decisions)
    if (d.verdict == plan::TagVerdict::Deleted && skipped.count({d.repository, d.tag})) {
      d.verdict = plan::TagVerdict::Kept;
      d.reason = "skipped: " + d.reason + "; registry 2.8 has no DELETE by tag, and deleting the digest would remove the kept tag";
      out.push_back(d.repository + ":" + d.tag);
    }
  return out;
}

int run_prune_online(Context& ctx, const PruneOptions& o, plan::PrunePolicy& policy) {
  if (o.gc)
    throw UsageError("--gc sweeps the storage, which the API cannot reach", ctx.options.online.registry,
                     "prune online, then run the registry's own `docker-registry garbage-collect` on its host");
  if (o.untagged)
    throw UsageError("--untagged finds untagged manifests, which registry 2.8's API does not list", ctx.options.online.registry,
                     "run `regsweep prune --untagged` on the registry's storage (--root or --config)");
  const MutationOptions& m = o.mutation;
  if (!m.dry_run && m.plan_out.empty()) require_confirmation_channel(ctx, m);
  storage::Model model = ctx.load_online_model({});
  use_created_times(ctx, model, policy);
  plan::PrunePlan pruned = plan::plan_prune(model, policy, {});
  pruned.plan.arguments = {ctx.command_line};
  plan::refuse_blind_spots_in_touched_repositories(model, pruned.plan, "prune");
  const std::vector<std::string> skipped = skip_untag_only(pruned);
  pruned.plan.registry = ctx.registry_client().base_url();
  print_decisions(ctx, pruned);
  if (!skipped.empty() && !ctx.options.quiet && !ctx.options.json) {
    *ctx.err << "regsweep: note: skipped " << skipped.size() << " tag(s) that share a digest with a kept tag (registry 2.8 has no "
             << "DELETE by tag; deleting the digest would remove the kept tag too):";
    for (const auto& t : skipped) *ctx.err << " " << t;
    *ctx.err << "\n";
  }
  json doc = {{"decisions", decisions_json(pruned)}, {"skipped_untag_only", skipped}, {"gc_would_free", pruned.plan.gc_would_free},
              {"gc_would_free_by_repository", pruned.gc_would_free_by_repository}};
  return run_online_plan(ctx, pruned.plan, m, std::move(doc), false);
}

int run_prune(Context& ctx, const PruneOptions& o) {
  plan::PrunePolicy policy;
  policy.repo_globs = o.repos;
  policy.match = o.match;
  policy.keep = o.keep;
  if (!o.no_default_keep) policy.keep.insert(policy.keep.begin(), "^latest$");
  policy.keep_last = o.keep_last;
  if (!o.older_than.empty()) {
    policy.older_than_s = duration_option(o.older_than, "--older-than");
  }
  policy.untagged = o.untagged;
  policy.referrers = !o.no_referrers;
  policy.now_ns = ctx.now_ns();
  if (ctx.online()) return run_prune_online(ctx, o, policy);
  const MutationOptions& m = o.mutation;
  const bool read_only = m.dry_run || !m.plan_out.empty();
  if (!read_only) require_confirmation_channel(ctx, m);

  apply::SessionOptions so = session_options(ctx, read_only, m.force, o.gc);
  apply::Session session(ctx.store(), so, *ctx.err);

  PruneCommand command(ctx, policy, o.gc);
  return run_mutation(ctx, session, command, m);
}

}  // namespace

Command add_prune_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<PruneOptions>();
  CLI::App* app = parent.add_subcommand("prune", "delete tags by retention policy (keep rules always win; online too, without --gc and --untagged)");
  app->add_option("--repo", o->repos, "repositories to prune (glob: team/*, team/**; repeatable; default all)");
  app->add_option("--match", o->match, "tags considered (regex; repeatable; default all)");
  app->add_option("--keep", o->keep, "tags never deleted (regex; repeatable; default ^latest$)");
  app->add_flag("--no-default-keep", o->no_default_keep, "do not keep ^latest$ by default");
  // CLI11 reads "-1" into an unsigned as its wrap-around (18446744073709551615): only digits pass.
  app->add_option("--keep-last", o->keep_last, "keep the N most recently pushed of the considered tags (online: created, the API has no push time)")
      ->check(CLI::Validator(
          [](std::string& text) {
            bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            return digits ? std::string() : "takes a number of tags, 0 or more, not \"" + text + "\"";
          },
          "N"));
  app->add_option("--older-than", o->older_than, "only tags pushed longer ago than DURATION may go (30d, 12h); online, the API has no push time: the image's "
                  "creation time (config `created`, else the org.opencontainers.image.created annotation), and an image "
                  "with neither is kept and listed");
  app->add_flag("--untagged", o->untagged, "also delete untagged manifests (index children and referrers are kept)");
  app->add_flag("--no-referrers", o->no_referrers, "keep signatures, attestations and SBOMs of deleted manifests");
  app->add_flag("--gc", o->gc, "run gc afterwards in the same locked session");
  add_mutation_options(*app, o->mutation);
  return Command{app, [&context, o] { return run_prune(context, *o); }};
}

}  // namespace regsweep::cli
