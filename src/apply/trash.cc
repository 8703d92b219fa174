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

void count_files(storage::Dir& dir, TrashRun& run, int depth = 0) {
  std::vector<std::pair<std::string, storage::FileType>> entries;
  dir.list([&](std::string_view name, storage::FileType type) { entries.emplace_back(std::string(name), type); });
  for (const auto& [name, type] : entries) {
    if (type == storage::FileType::Directory) {
      if (depth > 64) continue;
      if (auto sub = dir.open_dir(name)) count_files(*sub, run, depth + 1);
    } else {
      ++run.files;
      run.bytes += dir.stat(name).size;
    }
  }
}

// Whether the audit log has the empty-trash line of `id` already.
bool audited_empty(storage::Dir& root, const std::string& id) {
  std::string content;
  if (!root.read_file(state::kAudit, std::size_t{1} << 30, content).ok()) return false;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    json line = json::parse(content.substr(start, end - start), nullptr, false);
    if (line.is_object() && line.value("action", "") == "empty-trash" && line.value("run", "") == id) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::vector<TrashRun> list_trash(storage::Dir& root) {
  std::vector<TrashRun> out;
  auto trash = root.open_dir(state::kTrash);
  if (!trash) return out;
  std::vector<std::string> ids;
  trash->list([&](std::string_view name, storage::FileType type) {
    if (type == storage::FileType::Directory) ids.emplace_back(name);
  });
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    TrashRun run;
    run.id = id;
    run.status = "unknown";
    std::string content;
    if (root.read_file(state::run_record(id), 64u << 20, content).ok()) {
      json record = json::parse(content, nullptr, false);
      if (record.is_object()) {
        run.command = record.value("command", "");
        run.command_line = record.value("command_line", "");
        run.status = record.value("status", "unknown");
        run.items = record.value("removed", std::uint64_t{0});
        run.time_ns = util::parse_rfc3339(record.value("time", "")).value_or(0);
      }
    }
    // The record counts only at the end of a run: one that was killed or failed part-way says
    // 0 there, while its journal has a line for every item it began to move.
    std::set<std::string> journaled;
    detail::for_each_json_line(root, state::run_journal(id), [&](const json& line) {
      if (line.contains("path") && line["path"].is_string()) journaled.insert(line["path"].get<std::string>());
    });
    run.items = std::max<std::uint64_t>(run.items, journaled.size());
    if (auto dir = trash->open_dir(id)) count_files(*dir, run);
    out.push_back(std::move(run));
  }
  return out;
}

EmptiedTrash empty_trash(storage::Dir& root, const std::vector<TrashRun>& runs, bool dry_run, std::int64_t now_ns,
                         const std::string& command_line) {
  for (const TrashRun& run : runs)
    if (run.status == "running")
      throw SafetyRefusal("run " + run.id + " is still running (or was interrupted): emptying it would lose what it moved",
                          root.child_path(state::run_dir(run.id)), "any mutating command finishes an interrupted run first");
  EmptiedTrash out;
  for (const TrashRun& run : runs) {
    out.runs.push_back(run.id);
    out.bytes += run.bytes;
    if (dry_run) continue;
    // Marked first: a kill leaves a run that says what was happening to it.
    if (run.status != "unknown") {
      detail::mark_run(root, run.id, "emptying");
      detail::count_mutation();
    }
    // The audit line goes first, while the bytes it reports are still there to count, and only
    // once: an emptying that was killed after writing it (status "emptying") does not write it again.
    if (run.status != "emptying" || !audited_empty(root, run.id)) {
      json line = {{"time", util::rfc3339_utc(now_ns)}, {"run", run.id}, {"command", "trash empty"}, {"command_line", command_line},
                   {"action", "empty-trash"}, {"path", state::run_dir(run.id)}, {"bytes", run.bytes}};
      root.append(state::kAudit, line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    }
    detail::count_mutation();
    root.remove_tree(state::trashed(run.id, "docker"));
    detail::count_mutation();
    root.remove_tree(state::run_dir(run.id));
    detail::count_mutation();
  }
  return out;
}

}  // namespace regsweep::apply
