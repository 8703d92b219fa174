#include "regsweep/plan/simulate.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "regsweep/plan/reachability.h"
#include "regsweep/storage/layout.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;

std::uint64_t unreferenced_bytes(const Model& model) {
  BlobMark mark = registry_gc_mark(model);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < model.blobs.size(); ++i)
    if (model.blobs[i].has_data && !mark.marked(i)) total += model.blobs[i].size;
  return total;
}

namespace {

// What a plan removes from one repository, gathered first and then erased in one pass per
// vector, so that simulating many removals stays linear.
struct RepositoryRemovals {
  std::unordered_set<std::string> tags;
  std::unordered_map<std::string, std::unordered_set<Digest, DigestHash>> history;  // tag -> entries
  std::unordered_set<Digest, DigestHash> revisions;
  std::unordered_set<Digest, DigestHash> layers;
  std::set<std::string> uploads;
  bool manifests = false, layers_dir = false, uploads_dir = false;
};

}  // namespace

Model simulate(const Model& model, const Plan& plan) {
  Model after = model;
  std::unordered_map<std::string, RepositoryRemovals> by_repo;
  std::unordered_set<Digest, DigestHash> blobs;
  for (const Action& a : plan.actions) {
    if (a.kind == ActionKind::RemoveBlob) {
      if (a.digest) blobs.insert(*a.digest);
      continue;
    }
    if (a.repository.empty()) continue;
    RepositoryRemovals& r = by_repo[a.repository];
    switch (a.kind) {
      case ActionKind::RemoveTag: r.tags.insert(a.tag); break;
      case ActionKind::RemoveTagIndexEntry:
        if (a.digest) r.history[a.tag].insert(*a.digest);
        break;
      case ActionKind::RemoveRevision:
        if (a.digest) r.revisions.insert(*a.digest);
        break;
      case ActionKind::RemoveLayerLink:
        if (a.digest) r.layers.insert(*a.digest);
        break;
      case ActionKind::RemoveUpload: r.uploads.insert(a.upload); break;
      case ActionKind::RemoveRepositoryPart:
        r.manifests |= a.part == storage::layout::kManifests;
        r.layers_dir |= a.part == storage::layout::kLayers;
        r.uploads_dir |= a.part == storage::layout::kUploads;
        break;
      case ActionKind::RemoveEmptyFolder:
      case ActionKind::RemoveLinkFile:  // the model never held what a bad link says
      case ActionKind::RemoveTempFile:
      case ActionKind::RestoreFolder:  // restores are not simulated: nothing plans on them
      case ActionKind::RestoreItem:
      case ActionKind::RemoveBlob:
        break;
    }
  }
  for (Repository& repo : after.repositories) {
    auto it = by_repo.find(repo.name);
    if (it == by_repo.end()) continue;
    const RepositoryRemovals& r = it->second;
    std::erase_if(repo.tags, [&](const storage::TagLink& t) { return r.tags.count(t.name) != 0; });
    for (auto& t : repo.tags)
      if (auto h = r.history.find(t.name); h != r.history.end())
        std::erase_if(t.history, [&](const Digest& d) { return h->second.count(d) != 0; });
    std::erase_if(repo.revisions, [&](const storage::RevisionLink& l) { return r.revisions.count(l.digest) != 0; });
    std::erase_if(repo.layers, [&](const storage::LayerLink& l) { return r.layers.count(l.digest) != 0; });
    std::erase_if(repo.uploads, [&](const storage::Upload& u) {
      return r.uploads.count(u.id) != 0;
    });
    if (r.manifests) repo.tags.clear(), repo.revisions.clear(), repo.unreadable_revisions.clear(), repo.has_manifests_dir = false,
                      repo.tags_incomplete = false;
    if (r.layers_dir) repo.layers.clear(), repo.has_layers_dir = false;
    if (r.uploads_dir) repo.uploads.clear(), repo.has_uploads_dir = false;
  }
  std::erase_if(after.blobs, [&](const storage::BlobRecord& b) { return blobs.count(b.digest) != 0; });
  std::erase_if(after.repositories,
                [](const Repository& r) { return !r.has_manifests_dir && !r.has_layers_dir && !r.has_uploads_dir; });
  return after;
}

}  // namespace regsweep::plan
