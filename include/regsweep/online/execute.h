#pragma once
// Running a plan on a registry over its API, and undoing such a run (issue #19). The plan is
// the planners' value (rm's, as offline); what an action means online:
// - RemoveRevision (repository, digest): DELETE /v2/<repository>/manifests/<digest>, which
//   removes every tag on the digest as well;
// - RemoveTag (repository, tag, digest): done by that DELETE. A tag whose digest stays would
//   need a DELETE by tag, which registry 2.8 does not have: such a plan is refused.
// Before each DELETE, every tag the plan removes with it must still name the planned digest (a
// HEAD with every manifest type in Accept), and the manifest's bytes and the tags on it are
// saved to the run's trash in a local state folder, with the lock, journal, audit log and run
// record of the offline executor (apply/state.h, apply/state_store.h), so that `trash ls`,
// `trash empty` and `restore` work on online runs.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "regsweep/apply/session.h"
#include "regsweep/apply/state_store.h"
#include "regsweep/online/registry_client.h"
#include "regsweep/plan/plan.h"
#include "regsweep/storage/store.h"

namespace regsweep::online {

// The local state folder of a registry: `state_dir` when given, else
// $XDG_STATE_HOME/regsweep/<host>[_<port>] (default ~/.local/state/regsweep/...).
// Pure: `xdg_state_home` and `home` are the environment's values (empty when unset).
std::string state_folder(std::string_view host, std::string_view state_dir, std::string_view xdg_state_home, std::string_view home);

// Throws Error (naming the action's object) unless every action of `plan` can be done over the
// API: revisions deleted by digest, and tags only together with the digest they name.
void check_online_plan(const plan::Plan& plan);

// Where a run keeps a deleted manifest: <run dir>/online/<repository>/<hex>.json (what it was:
// repository, digest, media type, tags) and .../<hex>.manifest (its bytes).
std::string trashed_manifest_meta(std::string_view run, std::string_view repository, const Digest& digest);
std::string trashed_manifest_body(std::string_view run, std::string_view repository, const Digest& digest);

struct ExecuteOptions {
  bool dry_run = false;
  std::string command_line;
  std::int64_t now_ns = 0;
};

// Runs `plan` (checked by check_online_plan). Dry-run: checks the preconditions (reads only)
// and counts; no DELETE, nothing written. Throws SafetyRefusal when a tag no longer names its
// planned digest (nothing after it runs; the run is recorded `stopped`).
// `state_store` and `state` may be null in a dry run.
apply::RunSummary execute_online(RegistryClient& client, storage::Store* state_store, apply::StateStore* state, const plan::Plan& plan,
                                 const ExecuteOptions& options);

// A manifest an online run deleted, as its trash keeps it.
struct TrashedManifest {
  std::string repository;
  Digest digest;
  std::string media_type;
  std::vector<std::string> tags;
  std::string body;
};

struct OnlineRestorePlan {
  plan::Plan plan;                          // for showing: one RestoreItem per manifest and tag
  std::vector<TrashedManifest> manifests;   // in the order they are put back (children before their index)
};

// What restoring `run` puts back, from the state folder. Error for an unknown run or one that
// is not an online run; SafetyRefusal for one being emptied or already restored, and for one
// still `running` unless `lock_held` (the caller holds the state folder's lock, so that run was
// killed: what its journal names is put back, a manifest it had not deleted yet PUT again as is).
OnlineRestorePlan plan_online_restore(storage::Store& state_store, apply::StateStore& state, const std::string& run, bool lock_held);

// The blobs (and child manifests) the manifests need that the registry no longer has:
// "repository@digest" each. Reads only (HEAD).
std::vector<std::string> missing_for_restore(RegistryClient& client, const OnlineRestorePlan& restore);

// The tags of the run that name another digest now (pushed again since): "repository:tag (now
// sha256:...)" each. Reads only (HEAD). With keep_newer, they are dropped from `restore` (the
// newer manifest keeps the tag); the caller refuses otherwise.
std::vector<std::string> conflicts_for_restore(RegistryClient& client, OnlineRestorePlan& restore, bool keep_newer);

// PUTs every manifest back by digest, then its tags; recorded as a run of its own, and `run`
// marked restored. Call missing_for_restore first.
apply::RunSummary restore_online(RegistryClient& client, storage::Store& state_store, apply::StateStore& state,
                                 const OnlineRestorePlan& restore, const ExecuteOptions& options);

}  // namespace regsweep::online
