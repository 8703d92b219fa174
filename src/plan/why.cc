#include "regsweep/plan/why.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "regsweep/error.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/plan/rm.h"
#include "regsweep/plan/simulate.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;

const char* to_string(KeepRole role) {
  switch (role) {
    case KeepRole::Manifest: return "manifest";
    case KeepRole::Child: return "child";
    case KeepRole::Referrer: return "referrer";
    case KeepRole::Config: return "config";
    case KeepRole::Layer: return "layer";
  }
  return "?";
}

namespace {

// Every path from `start` (a tag's manifest) to `target`, depth first; `on_path` gets each.
void paths_from(const Model& model, const std::unordered_map<Digest, std::vector<Digest>, DigestHash>& referrers, const Digest& target,
                std::vector<KeepStep>& chain, std::unordered_set<Digest, DigestHash>& on_chain,
                const std::function<void(const std::vector<KeepStep>&)>& on_path) {
  const Digest here = chain.back().digest;
  if (here == target) {
    on_path(chain);
    return;  // below the target is not a path *to* it
  }
  const storage::ManifestRecord* m = model.find_manifest(here);
  if (!m) return;
  auto visit = [&](KeepRole role, const Digest& d) {
    if (on_chain.count(d)) return;  // an index that contains itself
    chain.push_back(KeepStep{role, d});
    on_chain.insert(d);
    paths_from(model, referrers, target, chain, on_chain, on_path);
    on_chain.erase(d);
    chain.pop_back();
  };
  if (m->parsed.config) visit(KeepRole::Config, m->parsed.config->digest);
  for (const auto& l : m->parsed.layers) visit(KeepRole::Layer, l.digest);
  for (const auto& c : m->parsed.children) visit(KeepRole::Child, c.digest);
  if (auto it = referrers.find(here); it != referrers.end())
    for (const Digest& r : it->second) visit(KeepRole::Referrer, r);
}

// `mark` is scratch, left clear: one for every question, reset in time proportional to what
// was marked (a mark per question would zero one byte per blob of the store each time).
bool reaches(const Model& model, const Digest& manifest, const Digest& target, BlobMark& mark) {
  mark_manifest_closure(model, manifest, mark);
  const bool found = mark.referenced(target);
  mark.reset();
  return found;
}

}  // namespace

DigestWhy why_digest(const Model& model, const Digest& digest, std::size_t max_paths) {
  DigestWhy out;
  out.digest = digest;
  if (const storage::BlobRecord* b = model.find_blob(digest)) {
    out.blob = b->has_data;
    out.size = b->size;
  }
  out.manifest = model.find_manifest(digest) != nullptr;
  bool known = model.find_blob(digest) != nullptr || out.manifest;
  for (const Repository& repo : model.repositories) {
    const auto referrers = referrers_by_subject(model, repo);
    for (const auto& tag : repo.tags) {
      if (!tag.current) continue;
      std::vector<KeepStep> chain{KeepStep{KeepRole::Manifest, *tag.current}};
      std::unordered_set<Digest, DigestHash> on_chain{*tag.current};
      paths_from(model, referrers, digest, chain, on_chain, [&](const std::vector<KeepStep>& steps) {
        ++out.path_count;
        if (out.paths.size() < max_paths) out.paths.push_back(KeepPath{repo.name, tag.name, steps});
      });
    }
  }
  if (out.path_count) known = true;
  // Untagged revisions that reference it: the registry's GC without -m keeps their blobs.
  const TaggedMark tagged = tagged_mark(model);
  BlobMark scratch(model);
  for (std::size_t r = 0; r < model.repositories.size(); ++r) {
    const Repository& repo = model.repositories[r];
    for (std::size_t i = 0; i < repo.revisions.size(); ++i) {
      if (tagged.revision_kept[r][i]) continue;
      const Digest& rev = repo.revisions[i].digest;
      if (rev == digest || reaches(model, rev, digest, scratch)) {
        out.untagged_revisions.emplace_back(repo.name, rev);
        known = true;
      }
    }
  }
  out.referenced_by_gc = registry_gc_mark(model).referenced(digest);
  if (!known) throw Error("neither a blob nor a manifest of this storage, and no manifest references it", digest.str());
  return out;
}

TagWhy why_tag(const Model& model, const std::string& repository, const std::string& tag) {
  RmRequest request;
  request.references.push_back(util::ImageReference{repository, tag, std::nullopt});
  const Plan plan = plan_rm(model, request);  // throws for an unknown repository or tag
  const Repository* repo = model.find_repository(repository);
  const storage::TagLink* link = repo->find_tag(tag);
  TagWhy out;
  out.repository = repository;
  out.tag = tag;
  out.manifest = *link->current;
  for (const auto& t : repo->tags)
    if (t.current == link->current && t.name != tag) out.same_digest_tags.push_back(repository + ":" + t.name);

  BlobMark mark(model);
  mark_manifest_closure(model, out.manifest, mark);
  std::vector<std::uint32_t> closure = mark.touched();
  std::sort(closure.begin(), closure.end());
  std::map<std::uint32_t, std::vector<std::string>> others;  // blob index -> other tags reaching it
  for (const Repository& r : model.repositories)
    for (const auto& t : r.tags) {
      if (!t.current || (r.name == repository && t.current == link->current)) continue;
      mark.reset();
      mark_manifest_closure(model, *t.current, mark);
      for (std::uint32_t i : mark.touched())
        if (std::binary_search(closure.begin(), closure.end(), i)) others[i].push_back(r.name + ":" + t.name);
    }
  for (std::uint32_t i : closure) {
    const storage::BlobRecord& b = model.blobs[i];
    out.closure.add(b.size);
    auto it = others.find(i);
    if (it == others.end())
      out.exclusive.add(b.size);
    else
      out.shared.push_back(SharedBlob{b.digest, b.size, it->second});
  }
  const Model after = simulate(model, plan);
  out.freed = freed_by(model, after);
  // With -m: regsweep's tagged mark before and after, less what the plain GC frees already.
  const TaggedMark before_m = tagged_mark(model), after_m = tagged_mark(after);
  const BlobMark plain_after = registry_gc_mark(after);
  for (std::size_t i = 0; i < after.blobs.size(); ++i) {
    const storage::BlobRecord& b = after.blobs[i];
    if (!b.has_data || after_m.blobs.marked(i) || !plain_after.marked(i)) continue;  // kept, or freed without -m
    const std::int64_t was = model.blob_index(b.digest);
    if (was >= 0 && before_m.blobs.marked(static_cast<std::size_t>(was))) out.freed_with_m.add(b.size);
  }
  return out;
}

}  // namespace regsweep::plan
