#pragma once
// The trash: one folder per run below <root>/.regsweep/trash (see state.h). Listing it, and
// emptying it, which is what frees the space the removed items still take.
#include <cstdint>
#include <string>
#include <vector>

#include "regsweep/apply/state_store.h"
#include "regsweep/storage/store.h"

namespace regsweep::apply {

struct TrashRun {
  std::string id;
  std::string command;
  std::string command_line;
  // complete; stopped (refused part-way, what it moved stays here); restored; emptying (a
  // `trash empty` was interrupted; the same command finishes it); running (still going, or
  // killed: the next command that changes the storage finishes it); "unknown" when its
  // run.json is missing or unreadable.
  std::string status;
  std::int64_t time_ns = 0;
  std::uint64_t items = 0;  // what the run removed: from its record, or its journal when it stopped before recording them
  std::uint64_t files = 0;  // files held in its trash folder now
  std::uint64_t bytes = 0;  // bytes held in its trash folder now (freed by emptying it)
};

// Every run in the trash, oldest first.
std::vector<TrashRun> list_trash(storage::Store& store, StateStore& logs);

struct EmptiedTrash {
  std::vector<std::string> runs;
  std::uint64_t bytes = 0;
};

// Deletes the trash folders of `runs` for good: the record is marked "emptying" first, so a
// kill leaves a run that `trash ls` shows as such and the same command finishes. An audit
// line per run. Refuses (SafetyRefusal) a run still "running". Dry-run: counts only.
EmptiedTrash empty_trash(storage::Store& store, StateStore& logs, const std::vector<TrashRun>& runs, bool dry_run, std::int64_t now_ns,
                         const std::string& command_line);

}  // namespace regsweep::apply
