#include "regsweep/apply/session.h"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "regsweep/apply/live_registry.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/storage/layout.h"
#include "regsweep/storage/walker.h"
#include "run.h"

namespace regsweep::apply {

using nlohmann::json;

Session::Session(storage::Store& store, SessionOptions options, std::ostream& log)
    : real_store_(store), options_(std::move(options)), log_(log) {
  if (options_.dry_run) {
    // Dry-run is enforced twice: the executor writes nothing, and the store it is given
    // refuses every write.
    read_only_ = storage::read_only(real_store_);
    store_ = read_only_.get();
  } else {
    store_ = &real_store_;
  }
  state_ = open_state_store(*store_);
  if (options_.dry_run) return;
  // Online, `trash` works on a local state folder, which holds nothing else.
  if (!options_.state_folder && !store_->stat(storage::layout::kV2).exists())
    throw Error("not a registry storage root: no docker/registry/v2 inside", store_->location());
  std::string holder;
  lock_ = state_->lock("pid " + std::to_string(::getpid()) + ": " + options_.command_line + "\n", holder);
  if (!lock_) {
    // The holder wrote "pid N: command\n"; the message goes on after it, on the same line.
    std::replace_if(holder.begin(), holder.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    while (!holder.empty() && holder.back() == ' ') holder.pop_back();
    throw SafetyRefusal("another regsweep is working on this storage" + (holder.empty() ? std::string() : ": " + holder),
                        store_->locate(state::kLock), "wait for it to finish");
  }
  if (options_.trash_only) return;
  // --force has one meaning everywhere: a registry regsweep sees is taken not to serve this
  // storage. It never stands for a statement about registries regsweep cannot see.
  if (!store_->traits().registries_visible) check_unseen_registries();
  else if (!options_.force) check_live_registry();
  recover_interrupted_runs();
}

Session::~Session() = default;

void Session::check_live_registry() {
  std::vector<LiveRegistry> serving;
  for (const LiveRegistry& live : find_live_registries(store_->location(), options_.config)) {
    if (live.readonly && !live.root_unknown && !options_.refuse_readonly_registry) {
      log_ << "regsweep: note: a read-only registry serves this storage (" << describe_live_registries({live}) << ")\n";
      if (options_.readonly_registries) options_.readonly_registries->push_back(live);
      continue;
    }
    serving.push_back(live);
  }
  if (!serving.empty()) throw serving_refusal(serving, store_->location());
}

// A bucket: registries on other machines may serve it, and no process list shows them. The
// ones that can be seen still count (this host's, or one answering at --config's http.addr);
// beyond them, regsweep never assumes: the operator states that none serves it
// (--registry-stopped), or --config says the registries are read-only, which rm and prune
// accept as on a disk.
void Session::check_unseen_registries() {
  std::vector<LiveRegistry> serving;
  for (const LiveRegistry& live : find_live_registries(store_->location(), options_.config)) serving.push_back(live);
  if (!serving.empty() && !options_.force) throw serving_refusal(serving, store_->location());
  if (options_.registry_stopped) return;
  if (options_.config && options_.config->readonly && !options_.refuse_readonly_registry) {
    LiveRegistry unseen;
    unseen.description = "the registries serving " + store_->location() + " with " + options_.config->path;
    unseen.readonly = true;
    unseen.config = options_.config;
    unseen.why = "its storage.maintenance.readonly is enabled";
    log_ << "regsweep: note: registries on other machines cannot be seen; " << options_.config->path
         << " makes them read-only\n";
    if (options_.readonly_registries) options_.readonly_registries->push_back(unseen);
    return;
  }
  throw SafetyRefusal("regsweep cannot see whether a registry on another machine serves this bucket", store_->location(),
                      "stop every registry that serves it and say so with --registry-stopped (a statement: regsweep "
                      "cannot check it)" +
                          std::string(options_.refuse_readonly_registry
                                          ? ""
                                          : ", or give --config with storage.maintenance.readonly enabled, as the registries run"));
}

void Session::recover_interrupted_runs() {
  std::vector<std::string> runs;
  store_->list_children(state::kTrash, [&](std::string_view name, storage::FileType type) {
    if (type == storage::FileType::Directory) runs.emplace_back(name);
  });
  std::sort(runs.begin(), runs.end());
  for (const std::string& run : runs) {
    std::optional<json> found = state_->read_record(run);
    if (!found || found->value("status", "") != "running") continue;
    const json& record = *found;
    plan::Plan plan = plan::plan_from_json(record.at("plan"), store_->locate(state::run_record(run)));
    log_ << "regsweep: finishing run " << run << " (" << record.value("command_line", plan.command)
         << "), which was interrupted\n";
    detail::RunContext ctx{*store_, *state_, run, record.value("command_line", ""), options_.now_ns, false, log_, *options_.progress, options_.window};
    try {
      recovered_.push_back(detail::run_plan(ctx, plan, /*resumed=*/true));
    } catch (const Error& e) {
      // Stopped for good: a run that cannot be finished must not block every later session.
      state_->mark_run(run, "stopped");
      log_ << "regsweep: warning: the interrupted run " << run << " cannot be finished: " << e.what() << " (" << e.path()
           << "); what it moved is in " << store_->locate(state::run_dir(run)) << "\n";
    }
  }
}

std::vector<std::string> Session::violations(const plan::Plan& plan) { return detail::plan_violations(*store_, plan); }

RunSummary Session::execute(const plan::Plan& plan, const storage::Model* current) {
  // Blobs are checked against the storage as it is now, not as it was when planned: a
  // revision or a _layers link that references a planned blob stops the run before it starts.
  bool sweeps_blobs = std::any_of(plan.actions.begin(), plan.actions.end(),
                                  [](const plan::Action& a) { return a.expect == plan::Expect::BlobUnreferenced; });
  if (sweeps_blobs && !options_.dry_run) {
    std::optional<storage::Model> walked;
    if (!current) current = &walked.emplace(storage::walk_storage(real_store_, storage::WalkOptions{options_.jobs, options_.progress}));
    std::vector<std::string> anew = plan::blobs_referenced_anew(*current, plan);
    if (!anew.empty())
      throw SafetyRefusal("the storage changed since the plan was made: " + anew.front() +
                              (anew.size() > 1 ? " (and " + std::to_string(anew.size() - 1) + " more)" : ""),
                          store_->location(), "make the plan again (nothing was removed)");
  }
  detail::RunContext ctx{*store_, *state_, state::new_run_id(options_.now_ns, ::getpid(), ++runs_), options_.command_line, options_.now_ns,
                         options_.dry_run, log_, *options_.progress, options_.window};
  return detail::run_plan(ctx, plan, /*resumed=*/false);
}

}  // namespace regsweep::apply
