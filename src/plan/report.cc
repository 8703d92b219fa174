#include "regsweep/plan/report.h"

#include <algorithm>

#include "regsweep/plan/reachability.h"
#include "regsweep/plan/simulate.h"

namespace regsweep::plan {

using storage::Model;

bool upload_is_stale(const storage::Upload& upload, std::int64_t now_ns, std::int64_t max_age_s) {
  std::int64_t started = upload.started_at_ns ? *upload.started_at_ns : upload.newest_mtime_ns;
  return now_ns - started > max_age_s * 1'000'000'000;
}

namespace {

constexpr std::int32_t kNoOwner = -1;
constexpr std::int32_t kShared = -2;

std::vector<RepositoryUsage> usage_with(const Model& model, const TaggedMark& tagged) {
  std::vector<RepositoryUsage> out(model.repositories.size());
  // Which repository references each blob: none, exactly one (its index), or several.
  std::vector<std::int32_t> owner(model.blobs.size(), kNoOwner);
  std::vector<std::vector<std::size_t>> referenced(model.repositories.size());
  BlobMark mark(model);
  for (std::size_t r = 0; r < model.repositories.size(); ++r) {
    const auto& repo = model.repositories[r];
    mark.reset();
    for (const auto& rev : repo.revisions) mark_manifest_closure(model, rev.digest, mark);
    for (std::uint32_t b : mark.touched()) {
      referenced[r].push_back(b);
      owner[b] = owner[b] == kNoOwner ? static_cast<std::int32_t>(r) : kShared;
    }
    RepositoryUsage& u = out[r];
    u.name = repo.name;
    u.tags = repo.tags.size();
    u.revisions = repo.revisions.size();
    for (bool kept : tagged.revision_kept[r]) u.untagged_revisions += kept ? 0 : 1;
  }
  for (std::size_t r = 0; r < out.size(); ++r)
    for (std::size_t b : referenced[r]) {
      out[r].bytes_referenced += model.blobs[b].size;
      if (owner[b] == static_cast<std::int32_t>(r)) out[r].bytes_exclusive += model.blobs[b].size;
    }
  return out;
}

}  // namespace

std::uint64_t image_bytes(const Model& model, const Digest& manifest) {
  BlobMark mark(model);
  mark_manifest_closure(model, manifest, mark);
  std::uint64_t total = 0;
  for (std::uint32_t i : mark.touched()) total += model.blobs[i].size;
  return total;
}

std::vector<RepositoryUsage> repository_usage(const Model& model) { return usage_with(model, tagged_mark(model)); }

StorageReport build_report(const Model& model, const ReportOptions& options) {
  StorageReport r;
  BlobMark gc = registry_gc_mark(model);
  TaggedMark tagged = tagged_mark(model);
  for (std::size_t i = 0; i < model.blobs.size(); ++i) {
    const auto& blob = model.blobs[i];
    if (!blob.has_data) continue;  // the registry's GC only sees folders with a data file
    r.blobs.add(blob.size);
    if (tagged.blobs.marked(i)) r.referenced_by_tags.add(blob.size);
    if (!gc.marked(i)) {
      r.unreferenced.add(blob.size);
      r.unreferenced_digests.push_back(blob.digest);
    } else if (!tagged.blobs.marked(i)) {
      r.untagged.add(blob.size);
    }
  }
  for (const auto& flags : tagged.revision_kept)
    r.untagged_manifests += static_cast<std::uint64_t>(std::count(flags.begin(), flags.end(), false));
  for (const auto& repo : model.repositories)
    for (const auto& up : repo.uploads) {
      r.uploads.add(up.bytes);
      if (upload_is_stale(up, options.now_ns, options.upload_max_age_s)) r.stale_uploads.add(up.bytes);
    }
  r.repositories = usage_with(model, tagged);
  r.notes = tagged.notes;
  if (std::vector<const storage::Finding*> blind = model.blind_spots(); !blind.empty()) {
    // Said first: every figure below undercounts references, and gc will refuse.
    std::string note = std::to_string(blind.size()) + (blind.size() == 1 ? " part" : " parts") +
                       " of the storage could not be read (unreadable, or a symbolic link regsweep does not follow): "
                       "what is there may reference any blob, so the unreferenced figures cannot be trusted and every "
                       "sweep refuses until it can be read:";
    for (const storage::Finding* f : blind) note += " " + f->path + ";";
    note.pop_back();
    r.notes.insert(r.notes.begin(), std::move(note));
  }
  for (std::string& note : mark_all_revisions(model).notes)
    if (std::find(r.notes.begin(), r.notes.end(), note) == r.notes.end()) r.notes.push_back(std::move(note));
  return r;
}

std::vector<std::string> index_platforms(const Model& model, const Digest& index) {
  std::vector<std::string> out;
  std::vector<Digest> seen{index};
  // Depth first, in the order of the entries, so that the platforms read as the index lists them.
  auto visit = [&](auto& self, const Digest& d, const std::string& above) -> void {
    const storage::ManifestRecord* m = model.find_manifest(d);
    if (!m) return;
    for (const storage::ChildRef& c : m->parsed.children) {
      const storage::ManifestRecord* child = model.find_manifest(c.digest);
      const bool inner_index = child && !child->parsed.children.empty();
      if (inner_index && std::find(seen.begin(), seen.end(), c.digest) == seen.end()) {
        seen.push_back(c.digest);
        self(self, c.digest, c.platform.empty() ? above : c.platform);
        continue;
      }
      const std::string& platform = c.platform.empty() ? above : c.platform;
      if (!platform.empty() && std::find(out.begin(), out.end(), platform) == out.end()) out.push_back(platform);
    }
  };
  visit(visit, index, "");
  return out;
}

Amount freed_by(const storage::Model& model, const Plan& plan) { return freed_by(model, simulate(model, plan)); }

Amount freed_by(const storage::Model& model, const storage::Model& after) {
  const BlobMark before_mark = registry_gc_mark(model), after_mark = registry_gc_mark(after);
  Amount freed;
  for (std::size_t i = 0; i < after.blobs.size(); ++i) {
    const storage::BlobRecord& b = after.blobs[i];
    if (!b.has_data || after_mark.marked(i)) continue;
    const std::int64_t was = model.blob_index(b.digest);
    if (was >= 0 && before_mark.marked(static_cast<std::size_t>(was))) freed.add(b.size);
  }
  return freed;
}

}  // namespace regsweep::plan
