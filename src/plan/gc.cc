#include "regsweep/plan/gc.h"

#include <algorithm>
#include <set>

#include "regsweep/plan/blind_spots.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/plan/simulate.h"
#include "regsweep/plan/report.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/clock.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;
namespace layout = storage::layout;

namespace {


}  // namespace

GcPlan plan_gc(const Model& model, const GcRequest& req) {
  refuse_sweep_with_blind_spots(model, "sweeping unreferenced blobs and untagged manifests");
  GcPlan out;
  Plan& plan = out.plan;
  GcStats& stats = out.stats;
  plan.command = "gc";
  plan.trash_blobs = req.trash_blobs;

  std::vector<std::vector<bool>> revision_kept;
  BlobMark mark(model);
  if (req.delete_untagged) {
    TaggedMark tagged = tagged_mark(model);
    revision_kept = std::move(tagged.revision_kept);
    mark = std::move(tagged.blobs);
    plan.notes = std::move(tagged.notes);
    // A tag whose current digest has no revision still protects what it names.
    for (const Repository& repo : model.repositories)
      for (const auto& tag : repo.tags)
        if (tag.current) mark_manifest_closure(model, *tag.current, mark);
  } else {
    AllRevisionsMark all = mark_all_revisions(model);
    mark = std::move(all.blobs);
    plan.notes = std::move(all.notes);
  }

  // What goes is decided first, in compact lists (indices into the model); the actions are
  // then made into a plan reserved to its size, kind by kind in execution order (a plan may
  // hold one action per swept blob and link: it is not grown by doubling, nor sorted by copy).
  struct Index {
    std::uint32_t repo, item;
  };

  // Untagged revisions, removed as distribution 3.x removes them.
  std::vector<std::size_t> revisions_left(model.repositories.size());
  std::vector<Index> untagged;
  std::size_t history_entries = 0;
  for (std::size_t r = 0; r < model.repositories.size(); ++r) {
    const Repository& repo = model.repositories[r];
    revisions_left[r] = repo.revisions.size();
    if (!req.delete_untagged) continue;
    for (std::size_t i = 0; i < repo.revisions.size(); ++i) {
      if (revision_kept[r][i]) continue;
      const Digest& d = repo.revisions[i].digest;
      --revisions_left[r];
      ++stats.untagged_manifests;
      untagged.push_back(Index{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(i)});
      for (const auto& tag : repo.tags)
        if (std::binary_search(tag.history.begin(), tag.history.end(), d)) ++history_entries;
    }
  }

  // Blobs nothing marks, unless they are younger than min_age or linked where a push is in
  // progress (an upload in progress may have pushed its layers but not yet its manifest).
  const std::vector<Digest> pushing = blobs_of_pushes_in_progress(model, req.now_ns, req.uploads_older_than_s);
  std::vector<std::uint8_t> swept(model.blobs.size(), 0);
  for (std::size_t i = 0; i < model.blobs.size(); ++i) {
    const auto& blob = model.blobs[i];
    if (!blob.has_data || mark.marked(i)) continue;
    if (req.now_ns - blob.mtime_ns < req.min_age_s * util::kNanosPerSecond) {
      ++stats.young_blobs_kept;
      stats.young_blob_bytes_kept += blob.size;
      continue;
    }
    if (std::binary_search(pushing.begin(), pushing.end(), blob.digest)) {
      ++stats.push_blobs_kept;
      stats.push_blob_bytes_kept += blob.size;
      continue;
    }
    swept[i] = 1;
    ++stats.blobs;
    stats.blob_bytes += blob.size;
  }

  std::vector<Index> dangling, stale_uploads;  // layer links, uploads
  std::vector<std::uint8_t> dangling_missing;  // per dangling link: its blob is missing (not swept)
  std::vector<std::uint32_t> emptied_repos;
  for (std::size_t r = 0; r < model.repositories.size(); ++r) {
    const Repository& repo = model.repositories[r];
    // _layers links whose blob is swept or missing (registry 2.8 leaves them forever). A
    // missing blob that a kept manifest references keeps its link: the image is broken
    // either way, and with the link a push of that blob to any repository heals it.
    for (std::size_t l = 0; l < repo.layers.size(); ++l) {
      const auto& link = repo.layers[l];
      std::int64_t b = model.blob_index(link.digest);
      bool gone = b < 0 || !model.blobs[static_cast<std::size_t>(b)].has_data || swept[static_cast<std::size_t>(b)];
      if (!gone) continue;
      bool missing = b < 0 || !model.blobs[static_cast<std::size_t>(b)].has_data;
      if (missing && mark.referenced(link.digest)) continue;
      ++stats.layer_links;
      if (req.sweep_blobs) {
        dangling.push_back(Index{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(l)});
        dangling_missing.push_back(b < 0);
      }
    }
    // Uploads older than the purge age: by startedat, or by their files when it is missing.
    std::size_t uploads_left = repo.uploads.size();
    for (std::size_t u = 0; u < repo.uploads.size(); ++u) {
      const auto& up = repo.uploads[u];
      if (!upload_is_stale(up, req.now_ns, req.uploads_older_than_s)) continue;
      --uploads_left;
      ++stats.uploads;
      stats.upload_bytes += up.bytes;
      stale_uploads.push_back(Index{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(u)});
    }
    if (req.prune_empty_repos && repo.tags.empty() && revisions_left[r] == 0 && uploads_left == 0) {
      ++stats.empty_repositories;
      emptied_repos.push_back(static_cast<std::uint32_t>(r));
    }
  }

  std::size_t folders = 0;
  for (std::uint32_t r : emptied_repos)
    folders += 3 + static_cast<std::size_t>(std::count(model.repositories[r].name.begin(), model.repositories[r].name.end(), '/')) + 1;
  plan.actions.reserve(history_entries + untagged.size() + dangling.size() + stale_uploads.size() + folders +
                       (req.sweep_blobs ? stats.blobs : 0));
  for (const Index& x : untagged) {
    const Repository& repo = model.repositories[x.repo];
    const Digest& d = repo.revisions[x.item].digest;
    for (const auto& tag : repo.tags)
      if (std::binary_search(tag.history.begin(), tag.history.end(), d))
        plan.actions.push_back(remove_tag_index_entry(repo.name, tag.name, d, "history entry of an untagged manifest"));
  }
  for (const Index& x : untagged) {
    const Repository& repo = model.repositories[x.repo];
    plan.actions.push_back(remove_revision(repo.name, repo.revisions[x.item].digest, /*whole=*/true,
                                           "untagged manifest (no tag, not an index child or referrer of a tagged one)"));
  }
  for (std::size_t k = 0; k < dangling.size(); ++k) {
    const Repository& repo = model.repositories[dangling[k].repo];
    plan.actions.push_back(remove_layer_link(repo.name, repo.layers[dangling[k].item].digest, Expect::Exists,
                                             dangling_missing[k] ? "layer link to a missing blob" : "layer link to a swept blob"));
  }
  for (const Index& x : stale_uploads) {
    const Repository& repo = model.repositories[x.repo];
    const auto& up = repo.uploads[x.item];
    plan.actions.push_back(remove_upload(repo.name, up.id,
                                         up.started_at_ns ? "upload started long ago" : "upload without startedat, files long untouched",
                                         up.bytes));
  }
  for (std::uint32_t r : emptied_repos) {
    const Repository& repo = model.repositories[r];
    for (std::string_view part : {layout::kManifests, layout::kLayers, layout::kUploads}) {
      bool present = part == layout::kManifests ? repo.has_manifests_dir : part == layout::kLayers ? repo.has_layers_dir : repo.has_uploads_dir;
      if (present) plan.actions.push_back(remove_repository_part(repo.name, part, "empty repository (no tag, no manifest)"));
    }
  }
  for (std::uint32_t r : emptied_repos)
    for (std::string folder = model.repositories[r].name; !folder.empty();) {
      plan.actions.push_back(remove_empty_folder(folder, "repository folder left empty"));
      auto slash = folder.rfind('/');
      folder = slash == std::string::npos ? std::string() : folder.substr(0, slash);
    }
  if (req.sweep_blobs)
    for (std::size_t i = 0; i < model.blobs.size(); ++i)
      if (swept[i]) plan.actions.push_back(remove_blob(model.blobs[i].digest, "unreferenced blob", model.blobs[i].size));

  // A repository whose parts go takes its tags, revisions, layer links and uploads with them:
  // drop those duplicates.
  std::set<std::string> emptied;
  for (const Action& a : plan.actions)
    if (a.kind == ActionKind::RemoveRepositoryPart) emptied.insert(a.repository);
  std::erase_if(plan.actions, [&](const Action& a) {
    if (a.kind == ActionKind::RemoveRepositoryPart || a.kind == ActionKind::RemoveBlob || a.kind == ActionKind::RemoveEmptyFolder)
      return false;
    return emptied.count(a.repository) != 0;
  });
  // Folders shared by several pruned repositories appear once.
  std::set<std::string> seen;
  std::erase_if(plan.actions, [&](const Action& a) { return a.kind == ActionKind::RemoveEmptyFolder && !seen.insert(a.repository).second; });
  plan.order();
  return out;
}

std::vector<Digest> blobs_of_pushes_in_progress(const Model& model, std::int64_t now_ns, std::int64_t uploads_older_than_s) {
  std::vector<Digest> out;
  for (const Repository& repo : model.repositories) {
    bool pushing = std::any_of(repo.uploads.begin(), repo.uploads.end(),
                               [&](const storage::Upload& up) { return !upload_is_stale(up, now_ns, uploads_older_than_s); });
    if (!pushing) continue;
    for (const auto& link : repo.layers) out.push_back(link.digest);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> blobs_referenced_anew(const Model& model, const Plan& plan) {
  // The tree once the plan's manifest and tag removals are done, with every blob still
  // there: a blob the plan would sweep must not be marked in it.
  if (std::any_of(plan.actions.begin(), plan.actions.end(), [](const Action& a) { return a.kind == ActionKind::RemoveBlob; }))
    refuse_sweep_with_blind_spots(model, "removing blobs");
  Plan links_only = plan;
  std::erase_if(links_only.actions, [](const Action& a) { return a.kind == ActionKind::RemoveBlob; });
  Model after = simulate(model, links_only);
  BlobMark mark = mark_all_revisions(after).blobs;
  std::vector<std::string> out;
  // A _layers link to a planned blob that the plan does not remove appeared since: an
  // upload in progress linked the blob (its manifest may follow).
  std::set<std::pair<std::string, Digest>> planned_links;
  std::set<Digest> planned_blobs;
  for (const Action& a : plan.actions) {
    if (a.kind == ActionKind::RemoveLayerLink && a.digest) planned_links.emplace(a.repository, *a.digest);
    if (a.kind == ActionKind::RemoveBlob && a.digest) planned_blobs.insert(*a.digest);
  }
  for (const Repository& repo : after.repositories)
    for (const auto& link : repo.layers)
      if (planned_blobs.count(link.digest) && !planned_links.count({repo.name, link.digest}))
        out.push_back("blob " + link.digest.str() + " is linked again by " + repo.name + " (" + layout::layer_link(repo.name, link.digest) + ")");
  for (const Action& a : plan.actions) {
    if (!a.digest || !mark.marked(*a.digest)) continue;
    if (a.kind == ActionKind::RemoveBlob) out.push_back("blob " + a.digest->str() + " is referenced again (" + a.storage_key() + ")");
    // A layer link the plan removes as dangling, while its repository references the blob
    // again, would make that repository's image unpullable.
    if (a.kind == ActionKind::RemoveLayerLink) {
      const Repository* repo = after.find_repository(a.repository);
      BlobMark repo_mark(after);
      if (repo)
        for (const auto& rev : repo->revisions) mark_manifest_closure(after, rev.digest, repo_mark);
      if (repo_mark.marked(*a.digest))
        out.push_back("layer link " + a.digest->str() + " of " + a.repository + " is needed again (" + a.storage_key() + ")");
    }
  }
  return out;
}

bool links_appeared(const Model& before, const Model& after) {
  for (const Repository& repo : after.repositories) {
    const Repository* old = before.find_repository(repo.name);
    if (!old) return true;
    for (const auto& rev : repo.revisions)
      if (!old->has_revision(rev.digest)) return true;
    for (const auto& tag : repo.tags) {
      const auto* t = old->find_tag(tag.name);
      if (!t || t->current != tag.current) return true;
    }
    for (const auto& link : repo.layers)
      if (!std::binary_search(old->layers.begin(), old->layers.end(), link,
                              [](const auto& a, const auto& b) { return a.digest < b.digest; }))
        return true;
  }
  return false;
}

}  // namespace regsweep::plan
