#pragma once
// A plan is a value (after restic's PrunePlan): every path to remove, what it must still
// contain when the removal happens, why, and how many bytes it frees. The same value is
// printed for --dry-run, written by --plan-out, reloaded by `apply`, and executed once by
// apply::Executor. Pure: building or printing a plan never touches the disk.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "regsweep/util/digest.h"

namespace regsweep::plan {

// Listed in the order the executor removes them: every prefix of a run leaves a tree the
// registry serves correctly (a tag goes before the revision it points at; links before
// the blobs they need; a repository's parts before its folder).
enum class ActionKind : std::uint8_t {
  RemoveLinkFile,        // one link file that cannot be read as a link (fsck --repair)
  RemoveTag,             // _manifests/tags/<tag>/ (the whole folder)
  RemoveTagIndexEntry,   // _manifests/tags/<tag>/index/sha256/<hex>/
  RemoveRevision,        // _manifests/revisions/sha256/<hex>/link (API delete) or the folder (GC -m)
  RemoveLayerLink,       // _layers/sha256/<hex>/
  RemoveUpload,          // _uploads/<id>/
  RemoveTempFile,        // a leftover *.tmp file (fsck --repair)
  RemoveRepositoryPart,  // <repo>/_manifests, _layers, _uploads
  RemoveEmptyFolder,     // a repository folder (or its parent) left empty
  RemoveBlob,            // blobs/sha256/<2>/<hex>/
  // `restore`: a run's removals undone, in the reverse order (built by apply/restore.h).
  RestoreFolder,         // a folder a run removed because it was empty, made again
  RestoreItem,           // `source` (in a run's trash) renamed back to `path`
};

std::string_view to_string(ActionKind kind);
std::optional<ActionKind> action_kind_from_string(std::string_view text);

// What must hold just before an action runs; checked by the executor (and by `apply`
// for every action before the first one runs).
enum class Expect : std::uint8_t {
  LinkIs,        // `check_path` is a link file whose content is `digest`
  Exists,        // `path` exists
  EmptyFolder,   // `path` is a folder with nothing in it
  BlobUnreferenced,  // `path` exists and no link in the current storage references `digest`
  BlobMissing,       // `path` exists and the blob `check_path` (its data file) still does not
  Restorable,        // `source` exists and `path` does not (for RestoreFolder: `path` is no folder yet)
};

std::string_view to_string(Expect expect);
std::optional<Expect> expect_from_string(std::string_view text);

struct Action {
  ActionKind kind = ActionKind::RemoveTag;
  std::string path;             // relative to the root
  Expect expect = Expect::Exists;
  std::string check_path;       // for LinkIs: the link file (relative to the root)
  std::optional<Digest> digest; // the digest concerned, if any
  std::string repository;       // for people
  std::string tag;              // for people
  std::string reason;           // for people: why this goes
  std::uint64_t bytes = 0;      // bytes freed by this action itself (blobs, uploads)
  std::string source;           // for RestoreItem: where the item is in the trash (relative to the root)
};

struct Plan {
  std::string command;               // "rm", "gc", "prune", ...
  std::vector<std::string> arguments;  // the command line that made it
  std::vector<Action> actions;       // in execution order (see ActionKind)
  std::vector<std::string> notes;    // shown before the actions
  std::uint64_t gc_would_free = 0;   // bytes a GC would free after this plan (for rm/prune)
  bool trash_blobs = false;          // keep removed blob folders in the trash
  std::string restores_run;          // restore: the run undone (marked "restored" when this completes)

  std::uint64_t bytes() const;
  // Stable-sorts actions into execution order.
  void order();
};

nlohmann::json plan_to_json(const Plan& plan);
// Throws Error naming `source` when the document is not a plan regsweep wrote.
Plan plan_from_json(const nlohmann::json& doc, const std::string& source);

}  // namespace regsweep::plan
