#pragma once
// Marks: which blobs and which manifest revisions a given policy keeps. Pure functions of
// the model; no I/O.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "regsweep/storage/model.h"

namespace regsweep::plan {

// One flag per blob of the model (same order as Model::blobs).
class BlobMark {
 public:
  explicit BlobMark(const storage::Model& model) : model_(&model), marked_(model.blobs.size(), 0) {}
  // Marks the blob if the model has it; returns true when it was newly marked. A digest
  // the model has no blob folder for is remembered as referenced_absent.
  bool mark(const Digest& d);
  bool marked(std::size_t blob_index) const { return marked_[blob_index] != 0; }
  bool marked(const Digest& d) const;
  // Marked, or marked while the model has no blob folder for it (a damaged image).
  bool referenced(const Digest& d) const;
  std::size_t size() const { return marked_.size(); }
  // Indices of the blobs marked since construction or the last reset(), in marking order.
  const std::vector<std::uint32_t>& touched() const { return touched_; }
  // Unmarks what was marked, in time proportional to that (not to the model's size).
  void reset();

 private:
  const storage::Model* model_;
  std::vector<std::uint8_t> marked_;
  std::vector<std::uint32_t> touched_;
  std::unordered_set<Digest, DigestHash> absent_;  // only damage puts anything here
};

// Exactly what `registry garbage-collect` of distribution 2.8 marks without -m: for every
// repository that has a _layers folder (how it finds repositories), every revision whose
// manifest blob exists; that manifest blob and its direct
// references (config and layers, or an index's children). Blobs it does not mark are the
// ones it deletes.
BlobMark registry_gc_mark(const storage::Model& model);

// regsweep's tag-rooted mark, multi-arch- and referrer-safe: in each repository, every
// tag's current manifest is kept; an index keeps its children (recursively); a revision
// whose `subject` is a kept manifest is kept too (to a fixpoint). Every blob a kept
// manifest references is marked.
//
// Where the model cannot tell what is kept, it keeps more, never less: in a repository with
// a tag it cannot read (Repository::tags_incomplete) or with a kept manifest it cannot read
// or parse (is_opaque_manifest), every revision is kept; and when a kept manifest is opaque,
// every blob the repository links in _layers is marked (an image is pullable only through
// those links, so they hold whatever it references). What a revision folder with an
// unreadable link names (Repository::unreadable_revisions) is marked too. `notes` says
// where and why.
struct TaggedMark {
  BlobMark blobs;
  // Per repository (Model order), per revision (Repository order): kept or not.
  std::vector<std::vector<bool>> revision_kept;
  std::vector<std::string> notes;
};
TaggedMark tagged_mark(const storage::Model& model);

// Every revision and every tag's current manifest kept (the registry's GC without -m), with
// the same caution for opaque manifests as tagged_mark.
struct AllRevisionsMark {
  BlobMark blobs;
  std::vector<std::string> notes;
};
AllRevisionsMark mark_all_revisions(const storage::Model& model);

// A manifest whose blob is present but whose content could not be read, or is not a
// manifest regsweep understands: what it references is unknown.
bool is_opaque_manifest(const storage::Model& model, const Digest& manifest);

// A repository's referrers: its revisions by the manifest their `subject` names (the
// referrers a kept manifest keeps, as tagged_mark keeps them).
std::unordered_map<Digest, std::vector<Digest>, DigestHash> referrers_by_subject(const storage::Model& model,
                                                                                 const storage::Repository& repo);

// Marks a manifest's own blob and everything it references, recursing into index children.
void mark_manifest_closure(const storage::Model& model, const Digest& manifest, BlobMark& mark);

}  // namespace regsweep::plan
