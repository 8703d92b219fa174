#pragma once
// The one pipeline every mutating command that plans runs (rm, gc, prune, apply, restore,
// fsck --repair, and the menu's deletions and gc):
// walk, plan, plan again while links appear before a blob sweep, show, write --plan-out or
// confirm and execute, report. A command opens its session (with its own
// options and refusals), then hands the pipeline its part: how to plan and what to say.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.h"

namespace regsweep::cli {

class MutationCommand {
 public:
  virtual ~MutationCommand() = default;

  // Whether the walk's findings are printed (fsck's report says them itself).
  virtual bool shows_findings() const { return true; }
  // Whether the plan is made from the storage's model (restore plans from regsweep's own
  // state: nothing is walked, and `plan` gets an empty model).
  virtual bool walks() const { return true; }
  // The plan, from the storage as walked. Called again on a newer walk when links appeared.
  virtual plan::Plan plan(const storage::Model& model) = 0;
  // Whether a plan that sweeps blobs is made again when links appear while planning (a plan
  // read from a file cannot be; `apply` checks it against the storage instead).
  virtual bool replans() const { return true; }
  // Whether running `plan` sweeps blobs (by default: it removes some).
  virtual bool sweeps(const plan::Plan& plan) const;
  // Before the question: the plan (and whatever else the command shows of it).
  virtual void show(const plan::Plan& plan, const MutationOptions& options) = 0;
  // The --json document of a --plan-out run.
  virtual nlohmann::json plan_out_document(const plan::Plan& plan, const MutationOptions& options);
  // The --json document of a run, without its "result".
  virtual nlohmann::json document(const plan::Plan& plan, const storage::Model& model, const MutationOptions& options) = 0;
  // After the run, before its summary (gc: its counts, the registry's own sweep).
  virtual void after_run(const apply::RunSummary&, nlohmann::json&, const MutationOptions&) {}
  // What the run did, for people (by default the removed items, the bytes, the trash).
  virtual void report(Context& context, const apply::RunSummary& summary, const MutationOptions& options);
  // The very last lines (gc: how to restart a read-only registry).
  virtual void last_words(const MutationOptions&) {}
  // The run stopped with an error: what the operator must know about what may have happened.
  virtual void on_error(const MutationOptions&) {}
  // Asks before the run: by default on a terminal (--yes answers), not in a dry run, not for
  // an empty plan. The menu asks its own way.
  virtual bool confirm(Context& context, const plan::Plan& plan, const MutationOptions& options);
  // The answer was no.
  virtual void declined(Context& context);
  // Whether an empty plan is still run (it changes nothing, and says so); fsck --repair
  // does not run one.
  virtual bool runs_empty_plans() const { return true; }
  // The command's exit status when it did what it was asked (fsck: 4 while problems remain).
  virtual int exit_code() const { return kExitOk; }
  virtual std::string question() const = 0;
};

int run_mutation(Context& context, apply::Session& session, MutationCommand& command, const MutationOptions& options);
// The same, with the session opened only when the plan is about to run (the menu: browsing
// and answering no write nothing, not even the lock file).
int run_mutation(Context& context, const std::function<apply::Session&()>& session, MutationCommand& command,
                 const MutationOptions& options);

}  // namespace regsweep::cli
