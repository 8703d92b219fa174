#pragma once
// A plan is a value (after restic's PrunePlan): every registry object to remove (a tag, a
// revision, a layer link, a blob, an upload, a repository's parts), what must still hold
// when the removal happens, why, and how many bytes it frees. The same value is printed for
// --dry-run, written by --plan-out, reloaded by `apply`, and executed once by
// apply::Session. Pure: building or printing a plan touches no storage. Where an object is
// kept is for storage::layout alone to say (Action::key()).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "regsweep/storage/layout.h"
#include "regsweep/util/digest.h"
#include "regsweep/util/text.h"

namespace regsweep::plan {

// Listed in the order the executor removes them: every prefix of a run leaves a tree the
// registry serves correctly (a tag goes before the revision it points at; links before
// the blobs they need; a repository's parts before its folder).
enum class ActionKind : std::uint8_t {
  RemoveLinkFile,        // key: one link file that cannot be read as a link (fsck --repair)
  RemoveTag,             // repository, tag: the tag (its folder, history and all)
  RemoveTagIndexEntry,   // repository, tag, digest: one entry of the tag's history
  RemoveRevision,        // repository, digest: its link (the API's delete), or with `whole` its folder (gc)
  RemoveLayerLink,       // repository, digest
  RemoveUpload,          // repository, upload (its id)
  RemoveTempFile,        // key: a leftover *.tmp file (fsck --repair)
  RemoveRepositoryPart,  // repository, part: _manifests, _layers or _uploads
  RemoveEmptyFolder,     // repository: the folder below repositories/ (a repository or a namespace) left empty
  RemoveBlob,            // digest
  // `restore`: a run's removals undone, in the reverse order (built by apply/restore.h).
  RestoreFolder,         // key: a folder a run removed because it was empty, made again
  RestoreItem,           // key: put back from `source` (in the run's trash)
};

std::string_view to_string(ActionKind kind);
std::optional<ActionKind> action_kind_from_string(std::string_view text);

// What must hold just before an action runs; checked by the executor (and by `apply`
// for every action before the first one runs).
enum class Expect : std::uint8_t {
  LinkIs,        // the object's link (a tag's current link, the revision's or layer's link) still names `digest`
  Exists,        // the object exists
  EmptyFolder,   // the folder has nothing in it
  BlobUnreferenced,  // the blob exists and no link in the current storage references it
  BlobMissing,       // the layer link exists and the blob `digest` still does not
  Restorable,        // `source` exists and the key does not (for RestoreFolder: it is no folder yet)
};

std::string_view to_string(Expect expect);
std::optional<Expect> expect_from_string(std::string_view text);

// A gc plan holds one action per swept blob and link: its strings are interned (util::Text,
// 8 bytes each), since reasons, repositories and parts repeat from action to action.
struct Action {
  ActionKind kind = ActionKind::RemoveTag;
  Expect expect = Expect::Exists;
  bool whole = false;            // RemoveRevision: the revision's folder, not only its link
  std::optional<Digest> digest;  // the object's digest; for a tag, the digest it names
  util::Text repository;         // see ActionKind; for an empty folder, the folder below repositories/
  util::Text tag;
  util::Text upload;             // RemoveUpload: the upload's id
  util::Text part;               // RemoveRepositoryPart: _manifests, _layers or _uploads
  util::Text key;                // RemoveLinkFile, RemoveTempFile, Restore*: the key itself
  util::Text reason;             // for people: why this goes
  util::Text source;             // RestoreItem: where the item is in the trash
  std::uint64_t bytes = 0;       // bytes freed by this action itself (blobs, uploads)

  // The registry object, and the key that holds it (a file or a folder of keys).
  storage::layout::Object object() const;
  std::string storage_key() const { return storage::layout::key_of(object()); }
  // What the precondition reads besides the object: the link that must still name `digest`
  // (LinkIs), the blob that must still be missing (BlobMissing). Empty otherwise.
  std::string check_key() const;
};

// The actions of the planners, one maker per kind of object.
Action remove_tag(std::string_view repository, std::string_view tag, std::optional<Digest> current, std::string_view reason);
Action remove_tag_index_entry(std::string_view repository, std::string_view tag, const Digest& d, std::string_view reason);
// `whole`: the revision's folder (gc); else its link, as the API's DELETE does.
Action remove_revision(std::string_view repository, const Digest& d, bool whole, std::string_view reason);
Action remove_layer_link(std::string_view repository, const Digest& d, Expect expect, std::string_view reason);
Action remove_upload(std::string_view repository, std::string_view id, std::string_view reason, std::uint64_t bytes);
Action remove_repository_part(std::string_view repository, std::string_view part, std::string_view reason);
Action remove_empty_folder(std::string_view folder, std::string_view reason);
Action remove_blob(const Digest& d, std::string_view reason, std::uint64_t bytes, Expect expect = Expect::BlobUnreferenced);
// RemoveLinkFile or RemoveTempFile.
Action repair_key(ActionKind kind, std::string_view key, std::string_view reason);

struct Plan {
  std::string command;               // "rm", "gc", "prune", ...
  std::vector<std::string> arguments;  // the command line that made it
  std::vector<Action> actions;       // in execution order (see ActionKind)
  std::vector<std::string> notes;    // shown before the actions
  std::uint64_t gc_would_free = 0;   // bytes a GC would free after this plan (for rm/prune)
  bool trash_blobs = false;          // keep removed blob folders in the trash
  std::string restores_run;          // restore: the run undone (marked "restored" when this completes)
  std::string registry;              // online: the registry's base URL the plan was made for ("https://host:port"); empty on a storage

  std::uint64_t bytes() const;
  // Stable-sorts actions into execution order.
  void order();
};

nlohmann::json plan_to_json(const Plan& plan);
// Throws Error naming `source` when the document is not a plan regsweep wrote.
Plan plan_from_json(const nlohmann::json& doc, const std::string& source);

}  // namespace regsweep::plan
