// `regsweep restore RUN`: put back everything a run removed, through the one executor.
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"
#include "regsweep/apply/restore.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/online/execute.h"

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

// restore's part in the pipeline: its plan comes from the run's journal and trash, not from
// the storage's model (nothing is walked), and is refused whole when a restored link would
// point at a blob gone for good, or a path was re-created since the run.
class RestoreCommand : public MutationCommand {
 public:
  RestoreCommand(Context& ctx, apply::Session& session, const RestoreOptions& o) : ctx_(ctx), session_(session), o_(o) {}

  bool walks() const override { return false; }

  plan::Plan plan(const storage::Model&) override {
    apply::RestorePlan rp = apply::plan_restore(session_.store(), session_.state(), o_.run, o_.keep_newer);
    doc_ = {{"run", o_.run},        {"dry_run", o_.mutation.dry_run}, {"conflicts", rp.conflicts}, {"kept_newer", rp.kept_newer},
            {"broken", rp.broken}, {"purged", rp.purged},             {"purged_bytes", rp.purged_bytes},
            {"plan", plan::plan_to_json(rp.plan)}};
    list(ctx_, "re-created since the run (a newer item is there now):", rp.conflicts);
    list(ctx_, "kept, newer than the run's (left in the trash):", rp.kept_newer);
    list(ctx_, "would be broken after the restore (what they need is gone for good):", rp.broken);
    if (!rp.purged.empty() && !ctx_.options.json && !ctx_.options.quiet)
      *ctx_.out << "note: the run deleted " << rp.purged.size() << " blob folder(s) for good (" << ctx_.size(rp.purged_bytes)
                << "); they cannot come back\n";
    if (!rp.broken.empty())
      refuse(std::to_string(rp.broken.size()) + " restored link(s) would point at blobs that are gone; nothing was restored",
             "the blobs were swept without --trash (or their run's trash was emptied); the tags cannot come back");
    if (!rp.conflicts.empty())
      refuse(std::to_string(rp.conflicts.size()) + " path(s) were re-created since the run; nothing was restored",
             "--keep-newer restores the rest and keeps the newer items");
    return rp.plan;
  }
  void show(const plan::Plan& plan, const MutationOptions& m) override { print_plan(ctx_, plan, m); }
  json document(const plan::Plan&, const storage::Model&, const MutationOptions&) override { return doc_; }
  void report(Context&, const apply::RunSummary& done, const MutationOptions& m) override {
    if (ctx_.options.json || ctx_.options.quiet) return;
    if (m.dry_run)
      *ctx_.out << "dry run: nothing was changed\n";
    else
      *ctx_.out << "restored " << done.restored << " items from run " << o_.run
                << (done.already_gone ? " (" + std::to_string(done.already_gone) + " were back already)" : "") << "; restore run "
                << done.run_id << "\n";
  }
  std::string question() const override { return "put these back?"; }

 private:
  [[noreturn]] void refuse(const std::string& what, const std::string& hint) {
    doc_["refused"] = what;
    if (ctx_.options.json) print_json(ctx_, doc_);
    throw SafetyRefusal(what, session_.store().locate(apply::state::run_dir(o_.run)), hint);
  }

  Context& ctx_;
  apply::Session& session_;
  const RestoreOptions& o_;
  json doc_;
};

// Online: the run's manifests are PUT back by digest, then their tags; every blob they need is
// checked with HEAD first, and a restore that would leave an image half there is refused whole.
int run_restore_online(Context& ctx, const RestoreOptions& o) {
  const MutationOptions& m = o.mutation;
  if (!m.dry_run) require_confirmation_channel(ctx, m);
  online::RegistryClient& client = ctx.registry_client();
  storage::Store& store = ctx.store();
  std::unique_ptr<apply::StateStore> state = apply::open_state_store(store);
  std::unique_ptr<apply::StateLock> lock;
  if (!m.dry_run) {
    std::string holder;
    lock = state->lock("pid " + std::to_string(::getpid()) + ": " + ctx.command_line + "\n", holder);
    if (!lock)
      throw SafetyRefusal("another regsweep is working on this registry: " + holder, store.locate(apply::state::kLock), "wait for it to finish");
  }
  online::OnlineRestorePlan rp = online::plan_online_restore(store, *state, o.run, lock != nullptr);
  client.check_api();
  std::vector<std::string> missing = online::missing_for_restore(client, rp);
  std::vector<std::string> conflicts = online::conflicts_for_restore(client, rp, o.keep_newer);
  json doc = {{"run", o.run},          {"dry_run", m.dry_run},   {"registry", client.base_url()}, {"missing", missing},
              {"conflicts", conflicts}, {"keep_newer", o.keep_newer}, {"plan", plan::plan_to_json(rp.plan)}};
  if (!conflicts.empty() && !o.keep_newer) {
    std::string what = std::to_string(conflicts.size()) + " tag(s) of the run name another manifest now (pushed again since): ";
    for (std::size_t i = 0; i < conflicts.size(); ++i) what += (i ? ", " : "") + conflicts[i];
    what += "; nothing was restored";
    doc["refused"] = what;
    if (ctx.options.json) print_json(ctx, doc);
    throw SafetyRefusal(what, client.base_url(), "--keep-newer restores the rest and leaves those tags on their newer manifests");
  }
  list(ctx, "kept, newer than the run's (their tags are not put back):", o.keep_newer ? conflicts : std::vector<std::string>{});
  if (!missing.empty()) {
    std::string what = std::to_string(missing.size()) + " blob(s) the run's manifests need are gone from the registry (its garbage collector "
                       "swept them): ";
    for (std::size_t i = 0; i < missing.size(); ++i) what += (i ? ", " : "") + missing[i];
    what += "; nothing was restored";
    doc["refused"] = what;
    if (ctx.options.json) print_json(ctx, doc);
    throw SafetyRefusal(what, client.base_url(), "push those blobs again (the same image, from wherever it came from), then restore");
  }
  print_plan(ctx, rp.plan, m);
  if (!m.dry_run && !rp.plan.actions.empty() && !confirm(ctx, m, "put these back on " + client.base_url() + "?")) {
    *ctx.err << "nothing was changed\n";
    return kExitOk;
  }
  apply::RunSummary done = online::restore_online(client, store, *state, rp, online::ExecuteOptions{m.dry_run, ctx.command_line, ctx.now_ns()});
  doc["result"] = run_summary_json(done);
  doc["result"]["restored"] = done.restored;
  if (ctx.options.json) print_json(ctx, doc);
  else if (!ctx.options.quiet) {
    if (m.dry_run) *ctx.out << "dry run: nothing was changed\n";
    else *ctx.out << "restored " << done.restored << " manifests and tags from run " << o.run << "; restore run " << done.run_id << "\n";
  }
  return kExitOk;
}

int run_restore(Context& ctx, const RestoreOptions& o) {
  if (ctx.online()) return run_restore_online(ctx, o);
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
  RestoreCommand command(ctx, session, o);
  return run_mutation(ctx, session, command, m);
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
