#include "regsweep/plan/reachability.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace regsweep::plan {

using storage::ManifestRecord;
using storage::Model;
using storage::Repository;

bool BlobMark::mark(const Digest& d) {
  std::int64_t i = model_->blob_index(d);
  if (i < 0) {
    absent_.insert(d);
    return false;
  }
  if (marked_[static_cast<std::size_t>(i)]) return false;
  marked_[static_cast<std::size_t>(i)] = 1;
  touched_.push_back(static_cast<std::uint32_t>(i));
  return true;
}

void BlobMark::reset() {
  for (std::uint32_t i : touched_) marked_[i] = 0;
  touched_.clear();
  absent_.clear();
}

bool BlobMark::referenced(const Digest& d) const {
  return marked(d) || absent_.count(d) != 0;
}

bool BlobMark::marked(const Digest& d) const {
  std::int64_t i = model_->blob_index(d);
  return i >= 0 && marked_[static_cast<std::size_t>(i)];
}

namespace {

// The references `registry garbage-collect` marks for one manifest: one level only.
void mark_direct_references(const ManifestRecord& m, BlobMark& mark) {
  if (m.parsed.config) mark.mark(m.parsed.config->digest);
  for (const auto& l : m.parsed.layers) mark.mark(l.digest);
  for (const auto& c : m.parsed.children) mark.mark(c.digest);
}

}  // namespace

BlobMark registry_gc_mark(const Model& model) {
  BlobMark mark(model);
  for (const Repository& repo : model.repositories) {
    // The registry enumerates repositories by their _layers folder: one without it is
    // invisible to its GC (and catalog), so nothing of it is marked.
    if (!repo.has_layers_dir) continue;
    for (const auto& rev : repo.revisions) {
      if (!model.blob_present(rev.digest)) continue;  // the registry skips these silently
      // A link naming another digest than its folder counts only through that digest's own
      // revision folder (linkedBlobStore.Enumerate stats revisions/<content>/link), which
      // this model would hold as a separate, not mismatched, entry.
      if (rev.mismatched) continue;
      mark.mark(rev.digest);
      if (const ManifestRecord* m = model.find_manifest(rev.digest)) mark_direct_references(*m, mark);
    }
  }
  return mark;
}

std::unordered_map<Digest, std::vector<Digest>, DigestHash> referrers_by_subject(const Model& model, const Repository& repo) {
  std::unordered_map<Digest, std::vector<Digest>, DigestHash> out;
  for (const auto& rev : repo.revisions)
    if (const ManifestRecord* m = model.find_manifest(rev.digest); m && m->parsed.subject) out[*m->parsed.subject].push_back(rev.digest);
  return out;
}

void mark_manifest_closure(const Model& model, const Digest& manifest, BlobMark& mark) {
  std::vector<Digest> stack{manifest};
  std::unordered_set<Digest, DigestHash> seen;  // an index that contains itself must not loop
  while (!stack.empty()) {
    Digest d = stack.back();
    stack.pop_back();
    if (!seen.insert(d).second) continue;
    mark.mark(d);
    const ManifestRecord* m = model.find_manifest(d);
    if (!m) continue;
    if (m->parsed.config) mark.mark(m->parsed.config->digest);
    for (const auto& l : m->parsed.layers) mark.mark(l.digest);
    for (const auto& c : m->parsed.children) stack.push_back(c.digest);
  }
}

bool is_opaque_manifest(const Model& model, const Digest& manifest) {
  if (!model.blob_present(manifest)) return false;  // gone: nothing of it can be served
  const ManifestRecord* m = model.find_manifest(manifest);
  return !m || !m->readable || m->parsed.kind == storage::ManifestKind::Unparsable ||
         m->parsed.kind == storage::ManifestKind::Unknown;
}

namespace {

// An opaque kept manifest references blobs nobody can name: mark every blob its
// repository links, which is every blob a pull of it could be served.
void mark_linked_blobs(const Repository& repo, BlobMark& mark) {
  for (const auto& link : repo.layers) mark.mark(link.digest);
}

std::string opaque_note(const Repository& repo, const Digest& d) {
  return repo.name + ": manifest " + d.str() +
         " cannot be read or parsed, so what it references is unknown: every manifest and every blob linked in " +
         repo.name + " is kept (run `regsweep fsck`)";
}

}  // namespace

AllRevisionsMark mark_all_revisions(const Model& model) {
  AllRevisionsMark out{BlobMark(model), {}};
  for (const Repository& repo : model.repositories) {
    const Digest* opaque = nullptr;
    for (const auto& rev : repo.revisions) {
      mark_manifest_closure(model, rev.digest, out.blobs);
      if (!opaque && is_opaque_manifest(model, rev.digest)) opaque = &rev.digest;
    }
    for (const auto& tag : repo.tags) {
      if (!tag.current) continue;
      mark_manifest_closure(model, *tag.current, out.blobs);
      if (!opaque && is_opaque_manifest(model, *tag.current)) opaque = &*tag.current;
    }
    for (const Digest& d : repo.unreadable_revisions) mark_manifest_closure(model, d, out.blobs);
    if (opaque) {
      mark_linked_blobs(repo, out.blobs);
      out.notes.push_back(opaque_note(repo, *opaque));
    }
  }
  return out;
}

TaggedMark tagged_mark(const Model& model) {
  TaggedMark result{BlobMark(model), {}, {}};
  result.revision_kept.reserve(model.repositories.size());
  for (const Repository& repo : model.repositories) {
    std::unordered_set<Digest, DigestHash> kept;
    std::vector<Digest> stack;
    auto keep = [&](const Digest& d) {
      if (kept.insert(d).second) stack.push_back(d);
    };
    auto expand = [&] {
      while (!stack.empty()) {
        Digest d = stack.back();
        stack.pop_back();
        if (const ManifestRecord* m = model.find_manifest(d))
          for (const auto& c : m->parsed.children) keep(c.digest);
      }
    };
    for (const auto& tag : repo.tags)
      if (tag.current) keep(*tag.current);
    expand();
    // Referrers: revisions whose subject is kept, until nothing new is kept.
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& rev : repo.revisions) {
        if (kept.count(rev.digest)) continue;
        const ManifestRecord* m = model.find_manifest(rev.digest);
        if (m && m->parsed.subject && kept.count(*m->parsed.subject)) {
          keep(rev.digest);
          expand();
          changed = true;
        }
      }
    }
    // What the model cannot read, it keeps: an unreadable tag may name any revision; an
    // opaque kept manifest may be an index of any of them, or their subject.
    auto smallest_opaque = [&] {  // the smallest, so that the note does not depend on hashing
      std::optional<Digest> found;
      for (const Digest& d : kept)
        if (is_opaque_manifest(model, d) && (!found || d < *found)) found = d;
      return found;
    };
    std::optional<Digest> opaque = smallest_opaque();
    if (repo.tags_incomplete || opaque) {
      for (const auto& rev : repo.revisions) keep(rev.digest);
      expand();
      if (repo.tags_incomplete)
        result.notes.push_back(repo.name + ": a tag cannot be read, so the manifests it names are unknown: every manifest of " +
                               repo.name + " is kept (run `regsweep fsck`)");
    }
    if (!opaque) opaque = smallest_opaque();  // among the revisions kept just now
    std::vector<bool> flags(repo.revisions.size());
    for (std::size_t i = 0; i < repo.revisions.size(); ++i) flags[i] = kept.count(repo.revisions[i].digest) != 0;
    for (const Digest& d : kept) mark_manifest_closure(model, d, result.blobs);
    for (const Digest& d : repo.unreadable_revisions) mark_manifest_closure(model, d, result.blobs);
    if (opaque) {
      mark_linked_blobs(repo, result.blobs);
      result.notes.push_back(opaque_note(repo, *opaque));
    }
    result.revision_kept.push_back(std::move(flags));
  }
  return result;
}

}  // namespace regsweep::plan
