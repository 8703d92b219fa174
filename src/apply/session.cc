#include "regsweep/apply/session.h"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "regsweep/apply/live_registry.h"
#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/storage/read_only_filesystem.h"
#include "regsweep/storage/walker.h"
#include "run.h"

namespace regsweep::apply {

using nlohmann::json;

Session::Session(storage::FileSystem& fs, std::string root, SessionOptions options, std::ostream& log)
    : fs_(fs), root_(std::move(root)), options_(std::move(options)), log_(log) {
  if (options_.dry_run) {
    // Dry-run is enforced twice: the executor writes nothing, and the file system it is
    // given refuses every write.
    read_only_ = std::make_unique<storage::ReadOnlyFileSystem>(fs_);
    root_dir_ = read_only_->open_root(root_);
  } else {
    root_dir_ = fs_.open_root(root_);
  }
  if (!root_dir_) throw Error("registry root is not a readable folder", root_);
  if (options_.dry_run) return;
  if (!root_dir_->stat("docker/registry/v2").exists())
    throw Error("not a registry storage root: no docker/registry/v2 inside", root_);
  root_dir_->make_dirs(state::kDir);
  lock_ = root_dir_->lock(state::kLock, /*wait=*/false);
  if (!lock_) {
    std::string holder;
    root_dir_->read_file(state::kLock, 4096, holder);
    // The holder wrote "pid N: command\n"; the message goes on after it, on the same line.
    std::replace_if(holder.begin(), holder.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    while (!holder.empty() && holder.back() == ' ') holder.pop_back();
    throw SafetyRefusal("another regsweep is working on this storage" + (holder.empty() ? std::string() : ": " + holder),
                        root_dir_->child_path(state::kLock), "wait for it to finish");
  }
  lock_->describe_holder("pid " + std::to_string(::getpid()) + ": " + options_.command_line + "\n");
  if (options_.trash_only) return;
  if (!options_.force) check_live_registry();
  recover_interrupted_runs();
}

Session::~Session() = default;

void Session::check_live_registry() {
  std::vector<LiveRegistry> serving;
  for (const LiveRegistry& live : find_live_registries(root_, options_.config)) {
    if (live.readonly && !live.root_unknown && !options_.refuse_readonly_registry) {
      log_ << "regsweep: note: a read-only registry serves this storage (" << describe_live_registries({live}) << ")\n";
      if (options_.readonly_registries) options_.readonly_registries->push_back(live);
      continue;
    }
    serving.push_back(live);
  }
  if (!serving.empty()) throw serving_refusal(serving, root_);
}

void Session::recover_interrupted_runs() {
  auto trash = root_dir_->open_dir(state::kTrash);
  if (!trash) return;
  std::vector<std::string> runs;
  trash->list([&](std::string_view name, storage::FileType type) {
    if (type == storage::FileType::Directory) runs.emplace_back(name);
  });
  std::sort(runs.begin(), runs.end());
  for (const std::string& run : runs) {
    std::string content;
    if (!root_dir_->read_file(state::run_record(run), 64u << 20, content).ok()) continue;
    json record = json::parse(content, nullptr, false);
    if (!record.is_object() || record.value("status", "") != "running") continue;
    plan::Plan plan = plan::plan_from_json(record.at("plan"), root_dir_->child_path(state::run_record(run)));
    log_ << "regsweep: finishing run " << run << " (" << record.value("command_line", plan.command)
         << "), which was interrupted\n";
    detail::RunContext ctx{*root_dir_, run, record.value("command_line", ""), options_.now_ns, false, log_, *options_.progress};
    try {
      recovered_.push_back(detail::run_plan(ctx, plan, /*resumed=*/true));
    } catch (const Error& e) {
      // Stopped for good: a run that cannot be finished must not block every later session.
      detail::mark_run(*root_dir_, run, "stopped");
      log_ << "regsweep: warning: the interrupted run " << run << " cannot be finished: " << e.what() << " (" << e.path()
           << "); what it moved is in " << root_dir_->child_path(state::run_dir(run)) << "\n";
    }
  }
}

std::vector<std::string> Session::violations(const plan::Plan& plan) { return detail::plan_violations(*root_dir_, plan); }

RunSummary Session::execute(const plan::Plan& plan, const storage::Model* current) {
  // Blobs are checked against the storage as it is now, not as it was when planned: a
  // revision or a _layers link that references a planned blob stops the run before it starts.
  bool sweeps_blobs = std::any_of(plan.actions.begin(), plan.actions.end(),
                                  [](const plan::Action& a) { return a.expect == plan::Expect::BlobUnreferenced; });
  if (sweeps_blobs && !options_.dry_run) {
    std::optional<storage::Model> walked;
    if (!current) current = &walked.emplace(storage::walk_storage(fs_, root_, storage::WalkOptions{options_.jobs, options_.progress}));
    std::vector<std::string> anew = plan::blobs_referenced_anew(*current, plan);
    if (!anew.empty())
      throw SafetyRefusal("the storage changed since the plan was made: " + anew.front() +
                              (anew.size() > 1 ? " (and " + std::to_string(anew.size() - 1) + " more)" : ""),
                          root_, "make the plan again (nothing was removed)");
  }
  detail::RunContext ctx{*root_dir_, state::new_run_id(options_.now_ns, ::getpid(), ++runs_), options_.command_line, options_.now_ns,
                         options_.dry_run, log_, *options_.progress};
  return detail::run_plan(ctx, plan, /*resumed=*/false);
}

}  // namespace regsweep::apply
