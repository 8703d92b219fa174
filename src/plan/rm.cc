#include "regsweep/plan/rm.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "regsweep/error.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/storage/layout.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;
namespace layout = storage::layout;

namespace {

const std::array<std::string_view, 4> kReferrerTagSuffixes = {".sig", ".att", ".sbom", ""};

class RmPlanner {
 public:
  RmPlanner(const Model& model, const RmRequest& request) : model_(model), request_(request) {}

  Plan build() {
    plan_.command = "rm";
    for (const auto& ref : request_.references) add_reference(ref);
    for (const auto& name : request_.repositories) add_repository(name);
    if (request_.referrers && referrers_added_)
      plan_.notes.push_back(
          "referrers of deleted manifests (cosign-style sha256-<hex>.sig/.att/.sbom tags and untagged manifests whose "
          "subject is a deleted digest) are deleted too; the registry's API would leave them (use --no-referrers for that)");
    plan_.order();
    return std::move(plan_);
  }

 private:
  const Repository& repository(const std::string& name) {
    const Repository* repo = model_.find_repository(name);
    if (!repo) throw Error("no such repository: " + name, model_.root + "/" + layout::repo_dir(name));
    return *repo;
  }

  void add_reference(const util::ImageReference& ref) {
    const Repository& repo = repository(ref.repository);
    Digest target;
    if (ref.digest) {
      target = *ref.digest;
      bool tagged = std::any_of(repo.tags.begin(), repo.tags.end(), [&](const auto& t) { return t.current == target; });
      if (!repo.has_revision(target) && !tagged)
        throw Error("no such manifest in " + repo.name + ": " + target.str(), model_.root + "/" + layout::revision_link(repo.name, target));
    } else {
      const storage::TagLink* tag = repo.find_tag(ref.tag);
      if (!tag) throw Error("no such tag: " + ref.text(), model_.root + "/" + layout::tag_dir(repo.name, ref.tag));
      if (!tag->current)
        throw Error("tag " + ref.text() + " has no readable current link (see `regsweep ls " + repo.name + "`)",
                    model_.root + "/" + layout::tag_current_link(repo.name, ref.tag));
      target = *tag->current;
      if (request_.untag) {
        add_tag_removal(repo, *tag, "untag " + ref.text() + " (--untag: its digest and other tags stay)");
        return;
      }
    }
    delete_digest(repo, target, "requested: " + ref.text(), 0);
  }

  void add_tag_removal(const Repository& repo, const storage::TagLink& tag, const std::string& reason) {
    add(Action{ActionKind::RemoveTag, layout::tag_dir(repo.name, tag.name), Expect::LinkIs,
               layout::tag_current_link(repo.name, tag.name), tag.current, repo.name, tag.name, reason, 0});
  }

  // Per repository, built when first needed: its tags by the digest they name, and its
  // revisions by their subject (so that deleting many digests stays linear).
  struct RepositoryIndex {
    std::unordered_map<Digest, std::vector<const storage::TagLink*>, DigestHash> tags_by_digest;
    std::unordered_map<Digest, std::vector<Digest>, DigestHash> referrers_by_subject;
  };

  const RepositoryIndex& index_of(const Repository& repo) {
    auto [it, fresh] = indexes_.try_emplace(&repo);
    if (fresh) {
      for (const auto& tag : repo.tags)
        if (tag.current) it->second.tags_by_digest[*tag.current].push_back(&tag);
      for (const auto& rev : repo.revisions)
        if (const auto* m = model_.find_manifest(rev.digest); m && m->parsed.subject)
          it->second.referrers_by_subject[*m->parsed.subject].push_back(rev.digest);
    }
    return it->second;
  }

  void delete_digest(const Repository& repo, const Digest& d, const std::string& reason, int depth) {
    if (!deleted_.insert({repo.name, d}).second) return;
    const RepositoryIndex& index = index_of(repo);
    if (auto it = index.tags_by_digest.find(d); it != index.tags_by_digest.end())
      for (const storage::TagLink* tag : it->second) add_tag_removal(repo, *tag, "tag points at " + d.str() + " (" + reason + ")");
    if (repo.has_revision(d)) {
      std::string link = layout::revision_link(repo.name, d);
      add(Action{ActionKind::RemoveRevision, link, Expect::LinkIs, link, d, repo.name, "", reason, 0});
    }
    if (!request_.referrers || depth > 32) return;
    const std::string hex = d.hex();
    for (std::string_view suffix : kReferrerTagSuffixes) {
      const storage::TagLink* t = repo.find_tag("sha256-" + hex + std::string(suffix));
      if (t && t->current) {
        referrers_added_ = true;
        delete_digest(repo, *t->current, "referrer tag " + t->name + " of " + d.str(), depth + 1);
      }
    }
    auto referrers = index.referrers_by_subject.find(d);
    if (referrers == index.referrers_by_subject.end()) return;
    for (const Digest& referrer : referrers->second) {
      if (index.tags_by_digest.count(referrer)) continue;  // a tagged referrer is an image of its own
      referrers_added_ = true;
      delete_digest(repo, referrer, "untagged referrer (subject " + d.str() + ")", depth + 1);
    }
  }

  void add_repository(const std::string& name) {
    const Repository& repo = repository(name);
    auto part = [&](bool present, const char* folder) {
      if (present)
        add(Action{ActionKind::RemoveRepositoryPart, layout::repo_dir(name) + "/" + folder, Expect::Exists, "", std::nullopt,
                   name, "", "whole repository deleted (--repository)", 0});
    };
    part(repo.has_manifests_dir, "_manifests");
    part(repo.has_layers_dir, "_layers");
    std::uint64_t upload_bytes = 0;
    for (const auto& u : repo.uploads) upload_bytes += u.bytes;
    part(repo.has_uploads_dir, "_uploads");
    if (repo.has_uploads_dir) plan_.actions.back().bytes = upload_bytes;
    // Then the folder and its parents, each only if nothing else (a nested repository) is in it.
    for (std::string folder = name; !folder.empty();) {
      add(Action{ActionKind::RemoveEmptyFolder, layout::repo_dir(folder), Expect::EmptyFolder, "", std::nullopt, name, "",
                 "repository folder left empty", 0});
      auto slash = folder.rfind('/');
      folder = slash == std::string::npos ? std::string() : folder.substr(0, slash);
    }
  }

  void add(Action a) {
    if (!paths_.insert(a.path).second) return;  // two references to the same thing
    plan_.actions.push_back(std::move(a));
  }

  const Model& model_;
  const RmRequest& request_;
  Plan plan_;
  std::set<std::pair<std::string, Digest>> deleted_;
  std::unordered_map<const Repository*, RepositoryIndex> indexes_;
  std::set<std::string> paths_;
  bool referrers_added_ = false;
};

}  // namespace

Plan plan_rm(const Model& model, const RmRequest& request) {
  Plan plan = RmPlanner(model, request).build();
  plan.gc_would_free = unreferenced_bytes(simulate(model, plan)) - unreferenced_bytes(model);
  return plan;
}

}  // namespace regsweep::plan
