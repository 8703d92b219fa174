#pragma once
// The one executor behind every mutating command (rm, gc, prune/apply, fsck --repair,
// restore). A Session is opened once per command: it takes the lock, refuses when a
// registry is serving the root, and finishes any run a kill interrupted. Then execute()
// runs a plan once: every removal is a rename(2) into the run's trash folder, recorded in
// the run's journal before it happens and in the audit log after; blob folders not kept in
// the trash are deleted from there at the end. A kill at any moment leaves either the
// item in place or in the trash, never half of it, and the next session finishes the run.
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "regsweep/apply/live_registry.h"
#include "regsweep/plan/plan.h"
#include "regsweep/apply/state_store.h"
#include "regsweep/storage/store.h"
#include "regsweep/storage/model.h"
#include "regsweep/storage/registry_config.h"
#include "regsweep/util/progress.h"

namespace regsweep::apply {

struct SessionOptions {
  bool dry_run = false;
  bool force = false;                 // ignore a registry serving the root
  // The operator's statement that no registry serves the storage. Needed where regsweep
  // cannot see the registries that may (a bucket: another machine's processes are not seen).
  bool registry_stopped = false;
  bool refuse_readonly_registry = false;  // rm: a read-only registry is no reason to refuse
  std::vector<LiveRegistry>* readonly_registries = nullptr;  // gc: receives the read-only registries tolerated
  std::string command_line;
  std::optional<storage::RegistryConfig> config;
  std::int64_t now_ns = 0;
  unsigned jobs = 1;                  // for the fresh walk before a blob sweep
  util::Progress* progress = &util::no_progress();
  // `trash empty`: the registry never reads .regsweep, so no live-registry check; and no
  // recovery (an interrupted run is finished by the next command that changes the storage).
  bool trash_only = false;
  // With trash_only: the store is the local state folder of online runs (no registry data in it).
  bool state_folder = false;
  // On a store without rename: how many actions go in one window of batched requests (0:
  // 1000; REGSWEEP_TEST_WINDOW in test builds). Crash tests shrink it, to stop between windows.
  std::size_t window = 0;
};

struct RunSummary {
  std::string run_id;                // empty when the run changed nothing (it leaves no trace in the trash)
  std::string command;
  std::vector<std::string> arguments;
  std::uint64_t removed = 0;         // items moved to the trash or deleted
  std::uint64_t purged = 0;          // of those, blob folders deleted for good (gc without --trash)
  std::uint64_t already_gone = 0;    // items no longer there (a re-run, a recovered run)
  std::uint64_t kept_folders = 0;    // folders not removed because something is in them
  std::uint64_t bytes_freed = 0;     // deleted for good (blob folders not trashed)
  std::uint64_t bytes_in_trash = 0;  // held in the trash until `trash empty`
  std::uint64_t restored = 0;        // restore: items moved back, folders made again
};

class Session {
 public:
  // `store` is the registry's storage (its location is what a serving registry is looked for by).
  Session(storage::Store& store, SessionOptions options, std::ostream& log);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the plan. Dry-run: checks it against the tree and counts, writing nothing.
  // Throws SafetyRefusal when an action's precondition no longer holds (nothing after
  // it runs; the run is recorded as stopped).
  //
  // A plan that sweeps blobs is first checked against the storage as it is now: `current`,
  // when the caller has just walked it after planning, else a fresh walk. Not in dry-run.
  RunSummary execute(const plan::Plan& plan, const storage::Model* current = nullptr);

  // The actions of `plan` whose precondition no longer holds (nothing is written).
  std::vector<std::string> violations(const plan::Plan& plan);

  // The store, for planners that read regsweep's own state (restore, trash); read-only in dry-run.
  storage::Store& store() { return *store_; }
  StateStore& state() { return *state_; }
  const SessionOptions& options() const { return options_; }

  // Runs found interrupted and finished when the session opened.
  const std::vector<RunSummary>& recovered() const { return recovered_; }

 private:
  void check_live_registry();
  void check_unseen_registries();
  void recover_interrupted_runs();

  storage::Store& real_store_;
  SessionOptions options_;
  std::ostream& log_;
  std::unique_ptr<storage::Store> read_only_;
  storage::Store* store_ = nullptr;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<StateLock> lock_;
  std::vector<RunSummary> recovered_;
  int runs_ = 0;
};

}  // namespace regsweep::apply
