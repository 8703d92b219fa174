#include "regsweep/apply/trash.h"

#include <algorithm>
#include <set>
#include <nlohmann/json.hpp>

#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/util/format.h"
#include "run.h"

namespace regsweep::apply {

using nlohmann::json;

namespace {

// Whether the audit log has the empty-trash line of `id` already.
bool audited_empty(StateStore& logs, const std::string& id) {
  bool found = false;
  logs.for_each_line(state::kAudit, [&](const json& line) {
    if (line.value("action", "") == "empty-trash" && line.value("run", "") == id) found = true;
  });
  return found;
}

}  // namespace

std::vector<TrashRun> list_trash(storage::Store& store, StateStore& logs) {
  std::vector<TrashRun> out;
  std::vector<std::string> ids;
  store.list_children(state::kTrash, [&](std::string_view name, storage::FileType type) {
    if (type == storage::FileType::Directory) ids.emplace_back(name);
  });
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    TrashRun run;
    run.id = id;
    run.status = "unknown";
    if (std::optional<json> record = logs.read_record(id)) {
      run.command = record->value("command", "");
      run.command_line = record->value("command_line", "");
      run.status = record->value("status", "unknown");
      run.items = record->value("removed", std::uint64_t{0});
      run.time_ns = util::parse_rfc3339(record->value("time", "")).value_or(0);
    }
    // The record counts only at the end of a run: one that was killed or failed part-way says
    // 0 there, while its journal has a line for every item it began to move.
    std::set<std::string> journaled;
    logs.for_each_line(state::run_journal(id), [&](const json& line) {
      if (line.contains("path") && line["path"].is_string()) journaled.insert(line["path"].get<std::string>());
    });
    run.items = std::max<std::uint64_t>(run.items, journaled.size());
    store.list(state::run_dir(id), [&](const storage::KeyInfo& k) {
      ++run.files;
      run.bytes += k.size;
    });
    out.push_back(std::move(run));
  }
  return out;
}

EmptiedTrash empty_trash(storage::Store& store, StateStore& logs, const std::vector<TrashRun>& runs, bool dry_run, std::int64_t now_ns,
                         const std::string& command_line) {
  for (const TrashRun& run : runs)
    if (run.status == "running")
      throw SafetyRefusal("run " + run.id + " is still running (or was interrupted): emptying it would lose what it moved",
                          store.locate(state::run_dir(run.id)), "any mutating command finishes an interrupted run first");
  EmptiedTrash out;
  for (const TrashRun& run : runs) {
    out.runs.push_back(run.id);
    out.bytes += run.bytes;
    if (dry_run) continue;
    // Marked first: a kill leaves a run that says what was happening to it.
    if (run.status != "unknown") {
      logs.mark_run(run.id, "emptying");
      detail::count_mutation();
    }
    // The audit line goes first, while the bytes it reports are still there to count, and only
    // once: an emptying that was killed after writing it (status "emptying") does not write it again.
    if (run.status != "emptying" || !audited_empty(logs, run.id)) {
      json line = {{"time", util::rfc3339_utc(now_ns)}, {"run", run.id}, {"command", "trash empty"}, {"command_line", command_line},
                   {"action", "empty-trash"}, {"path", state::run_dir(run.id)}, {"bytes", run.bytes}};
      logs.append(state::kAudit, line.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    detail::count_mutation();
    store.remove_prefix(state::trashed(run.id, "docker"));
    detail::count_mutation();
    store.remove_prefix(state::run_dir(run.id));
    detail::count_mutation();
  }
  return out;
}

}  // namespace regsweep::apply
