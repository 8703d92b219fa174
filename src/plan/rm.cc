#include "regsweep/plan/rm.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "regsweep/error.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/hex.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;
namespace layout = storage::layout;

bool is_referrer_tag(std::string_view tag) {
  if (!tag.starts_with("sha256-") || tag.size() < 7 + 64) return false;
  if (!util::is_lower_hex(tag.substr(7, 64))) return false;
  std::string_view rest = tag.substr(7 + 64);
  return rest.empty() || rest == ".sig" || rest == ".att" || rest == ".sbom";
}

namespace {

const std::array<std::string_view, 4> kReferrerTagSuffixes = {".sig", ".att", ".sbom", ""};

// The digest a cosign-style tag refers to: sha256-<hex>.sig -> sha256:<hex>.
std::optional<Digest> referrer_tag_subject(std::string_view tag) {
  if (!is_referrer_tag(tag)) return std::nullopt;
  return Digest::from_hex(tag.substr(7, 64));
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

class RmPlanner {
 public:
  RmPlanner(const Model& model, const RmRequest& request) : model_(model), request_(request) {}

  Plan build() {
    plan_.command = "rm";
    for (const auto& ref : request_.references) add_reference(ref);
    for (const auto& name : request_.repositories) add_repository(name);
    // Which digests go is settled first (the user's, then the referrers that nothing else
    // holds), so that what stays is known before anything is planned.
    if (request_.referrers)
      for (Deletions& w : deletions_) follow_referrers(w);
    refuse_broken_indexes();
    for (Deletions& w : deletions_) add_removals(w);
    if (referrers_added_ && !request_.referrer_note.empty())
      plan_.notes.push_back(request_.referrer_note);
    else if (referrers_added_)
      plan_.notes.push_back(
          "referrers of deleted manifests (cosign-style sha256-<hex>.sig/.att/.sbom tags and manifests whose subject is a "
          "deleted digest) are deleted too; the registry's API would leave them (use --no-referrers for that). A referrer "
          "that another tag names, or that a kept tag holds, stays: only its cosign-style tag is removed");
    plan_.order();
    return std::move(plan_);
  }

 private:
  // The digests deleted in one repository: in the order they were found, each with why.
  struct Deletions {
    const Repository* repo = nullptr;
    std::vector<Digest> order;
    std::unordered_map<Digest, std::string, DigestHash> reason;
    std::unordered_set<Digest, DigestHash> requested;  // named by the user; the rest follow referrers
    std::optional<std::unordered_set<Digest, DigestHash>> held;  // see held_by_staying_index
  };

  const Repository& repository(const std::string& name) {
    const Repository* repo = model_.find_repository(name);
    if (!repo) throw Error("no such repository: " + name, model_.root + "/" + layout::repo_dir(name));
    return *repo;
  }

  Deletions& deletions_of(const Repository& repo) {
    auto [it, fresh] = deletions_index_.try_emplace(&repo, deletions_.size());
    if (fresh) deletions_.push_back(Deletions{&repo, {}, {}, {}, std::nullopt});
    return deletions_[it->second];
  }

  static void add_deleted(Deletions& w, const Digest& d, const std::string& reason) {
    if (w.reason.emplace(d, reason).second) w.order.push_back(d);
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
    Deletions& w = deletions_of(repo);
    add_deleted(w, target, "requested: " + ref.text());
    w.requested.insert(target);
  }

  void add_tag_removal(const Repository& repo, const storage::TagLink& tag, const std::string& reason) {
    add(remove_tag(repo.name, tag.name, tag.current, reason));
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

  // Every manifest below (as index children, at any depth) what a tag names whose digest the
  // user did not ask to delete. A referrer among them stays: an index that stays lists it.
  // (Tags of digests only a referrer cascade deletes still count: keeping more is safe.)
  const std::unordered_set<Digest, DigestHash>& held_by_staying_index(Deletions& w) {
    if (!w.held) {
      w.held.emplace();
      std::vector<Digest> stack;
      for (const auto& tag : w.repo->tags)
        if (tag.current && !w.requested.count(*tag.current)) stack.push_back(*tag.current);
      std::unordered_set<Digest, DigestHash> visited;
      while (!stack.empty()) {
        Digest d = stack.back();
        stack.pop_back();
        if (!visited.insert(d).second) continue;
        if (const auto* m = model_.find_manifest(d))
          for (const auto& c : m->parsed.children) {
            w.held->insert(c.digest);
            stack.push_back(c.digest);
          }
      }
    }
    return *w.held;
  }

  // Why the referrer manifest `r` must stay although its subject goes; nullopt when it may go:
  // every tag naming it is a cosign-style tag of a deleted digest, none of them is kept, and no
  // staying index lists it.
  std::optional<std::string> why_referrer_stays(Deletions& w, const Digest& r) {
    const Repository& repo = *w.repo;
    const RepositoryIndex& index = index_of(repo);
    if (auto it = index.tags_by_digest.find(r); it != index.tags_by_digest.end())
      for (const storage::TagLink* tag : it->second) {
        if (request_.kept_tags.count({repo.name, tag->name})) return repo.name + ":" + tag->name + " names it and is kept";
        auto subject = referrer_tag_subject(tag->name);
        if (!subject || !w.reason.count(*subject)) return "also tagged " + repo.name + ":" + tag->name;
      }
    if (held_by_staying_index(w).count(r)) return "an index that stays lists it";
    return std::nullopt;
  }

  // Referrers of the deleted digests, to a fixpoint: a referrer that cannot go yet is looked
  // at again after each round, since a later deletion may free it (its other cosign tag's
  // subject goes too).
  void follow_referrers(Deletions& w) {
    const RepositoryIndex& index = index_of(*w.repo);
    std::vector<std::pair<Digest, std::string>> waiting;  // referrer, why it would go
    std::size_t next = 0;
    while (true) {
      for (; next < w.order.size(); ++next) {
        const Digest d = w.order[next];
        const std::string hex = d.hex();
        for (std::string_view suffix : kReferrerTagSuffixes)
          if (const storage::TagLink* t = w.repo->find_tag("sha256-" + hex + std::string(suffix)); t && t->current)
            waiting.emplace_back(*t->current, "referrer tag " + t->name + " of " + d.str());
        if (auto it = index.referrers_by_subject.find(d); it != index.referrers_by_subject.end())
          for (const Digest& r : it->second) waiting.emplace_back(r, "referrer (subject " + d.str() + ")");
      }
      bool grew = false;
      for (auto it = waiting.begin(); it != waiting.end();) {
        if (w.reason.count(it->first)) {
          it = waiting.erase(it);
        } else if (!why_referrer_stays(w, it->first)) {
          add_deleted(w, it->first, it->second);
          referrers_added_ = grew = true;
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }
      if (!grew) break;
    }
  }

  // A deleted digest that an index of a staying tag lists: the registry would answer 404 for
  // that platform, and the tag could no longer be pulled completely. The API allows it;
  // regsweep does only with --break-index.
  void refuse_broken_indexes() {
    std::vector<std::string> broken;  // "repo@child: tag (platforms: ...), ..."
    std::string first_path;
    for (Deletions& w : deletions_) {
      const Repository& repo = *w.repo;
      if (paths_.count(layout::repository_part(repo.name, layout::kManifests))) continue;  // --repository: no tag stays
      // child -> tag -> platforms it takes away
      std::map<Digest, std::map<std::string, std::set<std::string>>> by_child;
      for (const auto& tag : repo.tags) {
        if (!tag.current || w.reason.count(*tag.current) || paths_.count(layout::tag_dir(repo.name, tag.name))) continue;
        std::vector<std::pair<Digest, std::string>> stack = {{*tag.current, ""}};  // digest, platform of its entry
        std::unordered_set<Digest, DigestHash> visited;
        while (!stack.empty()) {
          auto [d, above] = stack.back();
          stack.pop_back();
          if (!visited.insert(d).second) continue;
          const auto* m = model_.find_manifest(d);
          if (!m) continue;
          for (const auto& c : m->parsed.children) {
            // An inner index's entry often names no platform: its own children's do.
            std::string platform = !c.platform.empty() ? c.platform : !above.empty() ? above : c.digest.str();
            if (w.reason.count(c.digest))
              by_child[c.digest][repo.name + ":" + tag.name].insert(platform);
            else
              stack.emplace_back(c.digest, platform);
          }
        }
      }
      for (const auto& [child, tags] : by_child) {
        std::vector<std::string> described;
        for (const auto& [tag, platforms] : tags)
          described.push_back(tag + " (platforms: " + join({platforms.begin(), platforms.end()}, ", ") + ")");
        broken.push_back(repo.name + "@" + child.str() + " is listed by an index that stays: " + join(described, ", ") +
                         " could no longer be pulled completely");
        if (first_path.empty()) first_path = model_.root + "/" + layout::revision_link(repo.name, child);
      }
    }
    if (broken.empty()) return;
    if (request_.break_index) {
      for (const auto& b : broken) plan_.notes.push_back("--break-index: " + b);
      return;
    }
    throw SafetyRefusal("refusing to delete a child of an index: " + join(broken, "; "), first_path,
                        "pass --break-index to delete it anyway (the registry's API allows it); to remove only a tag, "
                        "use --untag");
  }

  void add_removals(Deletions& w) {
    const Repository& repo = *w.repo;
    const RepositoryIndex& index = index_of(repo);
    for (const Digest& d : w.order) {
      const std::string& reason = w.reason.at(d);
      if (auto it = index.tags_by_digest.find(d); it != index.tags_by_digest.end())
        for (const storage::TagLink* tag : it->second) add_tag_removal(repo, *tag, "tag points at " + d.str() + " (" + reason + ")");
      if (repo.has_revision(d)) {
        add(remove_revision(repo.name, d, /*whole=*/false, reason));
      }
      if (!request_.referrers) continue;
      // A cosign-style tag of a deleted digest whose manifest stays: the tag alone goes.
      for (std::string_view suffix : kReferrerTagSuffixes) {
        const storage::TagLink* t = repo.find_tag("sha256-" + d.hex() + std::string(suffix));
        if (!t || !t->current || w.reason.count(*t->current) || request_.kept_tags.count({repo.name, t->name})) continue;
        auto why = why_referrer_stays(w, *t->current);
        add_tag_removal(repo, *t,
                        "referrer tag of " + d.str() + ", which goes; its manifest " + t->current->str() + " stays (" +
                            why.value_or("kept") + ")");
        referrers_added_ = true;
      }
    }
  }

  void add_repository(const std::string& name) {
    const Repository& repo = repository(name);
    auto part = [&](bool present, std::string_view folder) {
      if (present) add(remove_repository_part(name, folder, "whole repository deleted (--repository)"));
    };
    part(repo.has_manifests_dir, layout::kManifests);
    part(repo.has_layers_dir, layout::kLayers);
    std::uint64_t upload_bytes = 0;
    for (const auto& u : repo.uploads) upload_bytes += u.bytes;
    part(repo.has_uploads_dir, layout::kUploads);
    if (repo.has_uploads_dir) plan_.actions.back().bytes = upload_bytes;
    // Then the folder and its parents, each only if nothing else (a nested repository) is in it.
    for (std::string folder = name; !folder.empty();) {
      add(remove_empty_folder(folder, "repository folder left empty"));
      auto slash = folder.rfind('/');
      folder = slash == std::string::npos ? std::string() : folder.substr(0, slash);
    }
  }

  void add(Action a) {
    if (!paths_.insert(a.storage_key()).second) return;  // two references to the same thing
    plan_.actions.push_back(std::move(a));
  }

  const Model& model_;
  const RmRequest& request_;
  Plan plan_;
  std::vector<Deletions> deletions_;
  std::unordered_map<const Repository*, std::size_t> deletions_index_;
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
