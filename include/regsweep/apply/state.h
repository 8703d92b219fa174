#pragma once
// regsweep's own state folder beside the registry's data: <root>/.regsweep/ (the registry
// never reads it). It holds the lock, the audit log and the trash, one folder per run:
//   .regsweep/lock                      flock'ed by every mutating command
//   .regsweep/audit.jsonl               one JSON line per removed path, appended
//   .regsweep/trash/<run>/run.json      the run: command, plan, status, totals
//   .regsweep/trash/<run>/journal.jsonl one line per item, written before it moves
//   .regsweep/trash/<run>/docker/...    the removed items, at their path relative to the root
#include <cstdint>
#include <string>
#include <string_view>

#include "regsweep/storage/filesystem.h"

namespace regsweep::apply::state {

inline constexpr std::string_view kDir = ".regsweep";
inline const std::string kLock = ".regsweep/lock";
inline const std::string kAudit = ".regsweep/audit.jsonl";
inline const std::string kTrash = ".regsweep/trash";

inline std::string run_dir(std::string_view run) { return kTrash + "/" + std::string(run); }
inline std::string run_record(std::string_view run) { return run_dir(run) + "/run.json"; }
inline std::string run_journal(std::string_view run) { return run_dir(run) + "/journal.jsonl"; }
inline std::string trashed(std::string_view run, std::string_view path) { return run_dir(run) + "/" + std::string(path); }

// "20261124T040512Z-1234", then "-2", "-3"... for further runs of the same process in the
// same second: sortable by time, unique.
std::string new_run_id(std::int64_t now_ns, int pid, int sequence = 1);

// Throws Error unless `path` is a relative path below docker/registry/v2 with no empty,
// "." or ".." component: a plan (perhaps from a file) can never name anything else.
void check_storage_path(std::string_view path);

// Throws Error unless `path` is .regsweep/trash/<run>/<a storage path>: where a restore
// takes an item from (a plan file can name nothing else).
void check_trashed_path(std::string_view path);

// Writes `content` to `path` (a file anywhere, such as a --plan-out) as run.json is written:
// Dir::write_file in its folder (a temporary file beside it, fsync, rename), so a reader finds
// the old file or the new one whole, never a part. Throws Error naming the path.
void write_file_atomically(storage::FileSystem& fs, const std::string& path, std::string_view content);

}  // namespace regsweep::apply::state
