#pragma once
// Executing one run of a plan (shared by Session::execute and the recovery of an
// interrupted run).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "regsweep/apply/session.h"
#include "regsweep/apply/state_store.h"
#include "regsweep/storage/store.h"

namespace regsweep::apply::detail {

struct RunContext {
  storage::Store& store;
  StateStore& state;
  std::string run_id;
  std::string command_line;
  std::int64_t now_ns;
  bool dry_run;
  std::ostream& log;
  util::Progress& progress;
  std::size_t window = 0;  // SessionOptions::window
};

// Runs every action of `plan` not done yet, in order; finishes with the blob purge and the
// run record marked complete. `resumed` is true when finishing an interrupted run.
RunSummary run_plan(RunContext& ctx, const plan::Plan& plan, bool resumed);


// Every action whose precondition no longer holds, checked without writing (for `apply`,
// which refuses a stale plan before its first removal).
std::vector<std::string> plan_violations(storage::Store& store, const plan::Plan& plan);

// Called after every mutation (journal line, move, copy, delete, audit line, purge). Crash
// tests stop there: with REGSWEEP_TEST_CRASH_AFTER=N in the environment of a build made with
// -Dtest_hooks=true the process kills itself (SIGKILL) after its N-th mutation, and a unit
// test may set a hook (apply/mutation_hook.h).
void count_mutation();

}  // namespace regsweep::apply::detail
