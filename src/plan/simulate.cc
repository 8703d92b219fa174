#include "regsweep/plan/simulate.h"

#include <algorithm>

#include "regsweep/plan/reachability.h"

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

Model simulate(const Model& model, const Plan& plan) {
  Model after = model;
  auto repo_of = [&](const std::string& name) -> Repository* {
    auto it = std::lower_bound(after.repositories.begin(), after.repositories.end(), name,
                               [](const Repository& r, const std::string& k) { return r.name < k; });
    return it != after.repositories.end() && it->name == name ? &*it : nullptr;
  };
  auto erase_digest = [](auto& vec, const Digest& d) {
    vec.erase(std::remove_if(vec.begin(), vec.end(), [&](const auto& e) { return e.digest == d; }), vec.end());
  };
  for (const Action& a : plan.actions) {
    Repository* repo = a.repository.empty() ? nullptr : repo_of(a.repository);
    switch (a.kind) {
      case ActionKind::RemoveTag:
        if (repo) std::erase_if(repo->tags, [&](const auto& t) { return t.name == a.tag; });
        break;
      case ActionKind::RemoveTagIndexEntry:
        if (repo && a.digest)
          for (auto& t : repo->tags)
            if (t.name == a.tag) std::erase(t.history, *a.digest);
        break;
      case ActionKind::RemoveRevision:
        if (repo && a.digest) erase_digest(repo->revisions, *a.digest);
        break;
      case ActionKind::RemoveLayerLink:
        if (repo && a.digest) erase_digest(repo->layers, *a.digest);
        break;
      case ActionKind::RemoveUpload:
        if (repo) std::erase_if(repo->uploads, [&](const auto& u) { return a.path.ends_with("/" + u.id); });
        break;
      case ActionKind::RemoveRepositoryPart:
        if (!repo) break;
        if (a.path.ends_with("/_manifests")) repo->tags.clear(), repo->revisions.clear(), repo->has_manifests_dir = false;
        if (a.path.ends_with("/_layers")) repo->layers.clear(), repo->has_layers_dir = false;
        if (a.path.ends_with("/_uploads")) repo->uploads.clear(), repo->has_uploads_dir = false;
        break;
      case ActionKind::RemoveEmptyFolder:
      case ActionKind::RemoveLinkFile:  // the model never held what a bad link says
      case ActionKind::RemoveTempFile:
      case ActionKind::RestoreFolder:  // restores are not simulated: nothing plans on them
      case ActionKind::RestoreItem:
        break;
      case ActionKind::RemoveBlob:
        if (a.digest) erase_digest(after.blobs, *a.digest);
        break;
    }
  }
  std::erase_if(after.repositories,
                [](const Repository& r) { return !r.has_manifests_dir && !r.has_layers_dir && !r.has_uploads_dir; });
  return after;
}

}  // namespace regsweep::plan
