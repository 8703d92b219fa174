#include "regsweep/apply/restore.h"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/storage/link.h"
#include "regsweep/storage/manifest.h"
#include "run.h"

namespace regsweep::apply {

using nlohmann::json;
using plan::Action;
using plan::ActionKind;

namespace {

struct JournalEntry {
  ActionKind kind;
  std::string path;
  std::optional<Digest> digest;
  std::uint64_t bytes = 0;
};

// What the run moved, in the order it moved it (a resumed run may list an item twice).
std::vector<JournalEntry> read_journal(StateStore& logs, const std::string& run) {
  std::vector<JournalEntry> out;
  std::set<std::string> seen;
  logs.for_each_line(state::run_journal(run), [&](const json& j) {
    auto kind = plan::action_kind_from_string(j.value("action", ""));
    std::string path = j.value("path", "");
    if (!kind || path.empty() || !seen.insert(path).second) return;
    state::check_storage_path(path);
    JournalEntry e{*kind, path, std::nullopt, j.value("bytes", std::uint64_t{0})};
    if (j.contains("digest") && j["digest"].is_string()) e.digest = Digest::parse(j["digest"].get<std::string>());
    out.push_back(std::move(e));
  });
  return out;
}

// Every link file at or below `key` (a link file, or a folder of them).
void link_files(storage::Store& store, const std::string& key, std::vector<std::string>& out) {
  storage::FileStat st = store.stat(key);
  if (st.type == storage::FileType::Regular) {
    if (key.ends_with("/link")) out.push_back(key);
    return;
  }
  if (st.type != storage::FileType::Directory) return;
  store.list(key, [&](const storage::KeyInfo& k) {
    if (k.type == storage::FileType::Regular && k.key.ends_with("/link")) out.emplace_back(k.key);
  });
}

// Is every blob a restored link needs there after the restore? A blob is there when it is in
// the storage or comes back with this run; a manifest's config, layers and children too.
class BlobNeeds {
 public:
  BlobNeeds(storage::Store& root, std::string run, const std::set<Digest>& restored_blobs)
      : root_(root), run_(std::move(run)), restored_(restored_blobs) {}

  // Empty when fine, else why not.
  std::string check(const Digest& d, bool manifest, int depth = 0) {
    if (!there(d)) return "needs blob " + d.str() + ", which is gone";
    if (!manifest || depth > 16 || !checked_.insert(d).second) return {};
    std::string content;
    std::string at = root_.stat(storage::layout::blob_data(d)).exists() ? storage::layout::blob_data(d)
                                                                       : state::trashed(run_, storage::layout::blob_data(d));
    if (!root_.read(at, storage::kMaxManifestBytes, content).ok()) return {};
    storage::ParsedManifest m = storage::parse_manifest(content);
    if (m.config && !there(m.config->digest)) return "manifest " + d.str() + " needs its config " + m.config->digest.str() + ", which is gone";
    for (const auto& l : m.layers)
      if (!l.foreign && !there(l.digest)) return "manifest " + d.str() + " needs layer " + l.digest.str() + ", which is gone";
    for (const auto& c : m.children)
      if (std::string why = check(c.digest, true, depth + 1); !why.empty()) return why;
    return {};
  }

 private:
  bool there(const Digest& d) {
    return restored_.count(d) || root_.stat(storage::layout::blob_data(d)).type == storage::FileType::Regular;
  }
  storage::Store& root_;
  std::string run_;
  const std::set<Digest>& restored_;
  std::set<Digest> checked_;
};

}  // namespace

RestorePlan plan_restore(storage::Store& root, StateStore& logs, const std::string& run, bool keep_newer) {
  if (run.empty() || run.find('/') != std::string::npos || run == "." || run == "..")
    throw UsageError("not a run id: \"" + run + "\"", "", "regsweep trash ls lists the runs");
  if (!root.stat(state::run_record(run)).exists())
    throw Error("no such run in the trash", root.locate(state::run_dir(run)), "regsweep trash ls lists the runs");
  std::optional<json> found = logs.read_record(run);
  if (!found) throw Error("the run's record cannot be read as JSON", root.locate(state::run_record(run)));
  const json& record = *found;

  RestorePlan out;
  out.status = record.value("status", "");
  if (out.status == "running")
    throw SafetyRefusal("the run is still running (or was interrupted and not finished yet)", root.locate(state::run_dir(run)),
                        "any mutating command finishes an interrupted run first; then restore it");
  if (out.status == "emptying")
    throw SafetyRefusal("the run's trash is being emptied; it cannot be restored", root.locate(state::run_dir(run)));
  if (out.status == "restored")
    throw SafetyRefusal("the run was restored already", root.locate(state::run_record(run)),
                        "what is left in its trash (newer items kept by --keep-newer) stays there until trash empty");
  if (record.value("command", "") == "restore")
    throw UsageError("a restore cannot be restored", root.locate(state::run_record(run)));

  plan::Plan& p = out.plan;
  p.command = "restore";
  p.arguments = {run};
  p.restores_run = run;
  p.trash_blobs = true;  // nothing of a restore is purged

  std::vector<JournalEntry> journal = read_journal(logs, run);
  std::set<Digest> restored_blobs;
  for (const auto& e : journal) {
    if (e.kind != ActionKind::RemoveBlob || !e.digest) continue;
    if (root.stat(state::trashed(run, e.path)).exists())
      restored_blobs.insert(*e.digest);
    else if (!root.stat(e.path).exists()) {
      out.purged.push_back(e.path);
      out.purged_bytes += e.bytes;
    }
  }

  // Folders the run removed because they were empty: made again first, shallowest first.
  std::vector<std::string> folders;
  for (const auto& e : journal)
    if (e.kind == ActionKind::RemoveEmptyFolder && root.stat(e.path).type != storage::FileType::Directory) folders.push_back(e.path);
  std::sort(folders.begin(), folders.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') < std::count(b.begin(), b.end(), '/');
  });
  for (const auto& f : folders) {
    Action a;
    a.kind = ActionKind::RestoreFolder;
    a.key = f;
    a.expect = plan::Expect::Restorable;
    a.reason = "made again (it was removed empty)";
    p.actions.push_back(std::move(a));
  }

  // Items, in the reverse of the order they were removed.
  BlobNeeds needs(root, run, restored_blobs);
  for (auto it = journal.rbegin(); it != journal.rend(); ++it) {
    const JournalEntry& e = *it;
    if (e.kind == ActionKind::RemoveEmptyFolder) continue;
    const std::string source = state::trashed(run, e.path);
    if (!root.stat(source).exists()) continue;  // purged blob, or restored before
    if (root.stat(e.path).exists()) {
      (keep_newer ? out.kept_newer : out.conflicts).push_back(e.path);
      continue;
    }
    std::vector<std::string> links;
    if (e.kind != ActionKind::RemoveBlob && e.kind != ActionKind::RemoveUpload && e.kind != ActionKind::RemoveTempFile)
      link_files(root, source, links);
    for (const std::string& link : links) {
      std::string text;
      if (!root.read(link, 4096, text).ok()) continue;
      storage::LinkParse parsed = storage::parse_link(text);
      if (!parsed.ok()) continue;  // a bad link put back as it was: fsck's business
      const std::string original = link.substr(state::run_dir(run).size() + 1);
      // A tag's current link or a revision's names a manifest; a _layers link a blob; a tag's
      // history is not checked.
      const storage::layout::LinkRole role = storage::layout::link_role(original);
      if (role == storage::layout::LinkRole::TagHistory) continue;
      const bool manifest = role == storage::layout::LinkRole::TagCurrent || role == storage::layout::LinkRole::Revision;
      if (std::string why = needs.check(*parsed.digest, manifest); !why.empty()) out.broken.push_back(original + ": " + why);
    }
    Action a;
    a.kind = ActionKind::RestoreItem;
    a.key = e.path;
    a.source = source;
    a.expect = plan::Expect::Restorable;
    a.digest = e.digest;
    a.bytes = 0;
    a.reason = "put back (" + std::string(plan::to_string(e.kind)) + ")";
    p.actions.push_back(std::move(a));
  }
  return out;
}

}  // namespace regsweep::apply
