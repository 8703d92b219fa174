#include "regsweep/plan/fsck.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/format.h"

namespace regsweep::plan {

using storage::FindingKind;
using storage::ManifestRecord;
using storage::Model;
using storage::Repository;
using storage::Severity;

std::size_t FsckReport::broken_tags() const {
  return static_cast<std::size_t>(std::count_if(tags.begin(), tags.end(), [](const TagHealth& t) { return !t.intact; }));
}

bool FsckReport::clean() const {
  return std::all_of(problems.begin(), problems.end(), [](const Problem& p) { return p.severity == Severity::Info; });
}

namespace {

// Index children nest; deeper than this is treated like a cycle (the registry would not
// have accepted it either).
constexpr int kMaxDepth = 16;

bool has_layer(const Repository& repo, const Digest& d) {
  auto it = std::lower_bound(repo.layers.begin(), repo.layers.end(), d, [](const auto& l, const Digest& x) { return l.digest < x; });
  return it != repo.layers.end() && it->digest == d;
}

// The problems, each once, found by the walker or here; tags point at the ones that break them.
class ProblemSet {
 public:
  explicit ProblemSet(const Model& model) : root_(model.root) {
    for (const auto& f : model.findings) add(f.kind, f.key, f.path, f.message, f.severity);
  }

  // Returns the index of the problem (kind, key) whose message mentions `needle`, adding
  // it when there is none.
  std::size_t find_or_add(FindingKind kind, const std::string& key, const std::string& message, const std::string& needle = {}) {
    auto range = by_key_.equal_range({kind, key});
    for (auto it = range.first; it != range.second; ++it)
      if (needle.empty() || problems_[it->second].message.find(needle) != std::string::npos) return it->second;
    return add(kind, key, root_ + "/" + key, message, storage::default_severity(kind));
  }

  std::size_t add(FindingKind kind, const std::string& key, const std::string& path, const std::string& message, Severity severity) {
    Problem p{kind, severity, path, key, storage::layout::repository_of(key), message, {}, {}};
    problems_.push_back(std::move(p));
    by_key_.emplace(std::pair(kind, key), problems_.size() - 1);
    return problems_.size() - 1;
  }

  std::vector<Problem>& all() { return problems_; }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::vector<Problem> problems_;
  std::multimap<std::pair<FindingKind, std::string>, std::size_t> by_key_;
};

// Can manifest `d` be pulled from `repo` completely, and if not, which problems stop it?
// `via` is how it was reached (a tag's current link, or an index's child entry).
class PullCheck {
 public:
  PullCheck(const Model& model, const FsckOptions& options, ProblemSet& problems)
      : model_(model), options_(options), problems_(problems) {
    if (options.verified)
      for (const auto& c : options.verified->corrupt) corrupt_[c.digest] = c.actual;
  }

  struct Result {
    std::set<std::size_t> problems;            // that stop a complete pull
    std::vector<std::string> broken_platforms;  // of an index
  };

  Result tag(const Repository& repo, const storage::TagLink& tag) {
    Result r;
    if (!tag.current) {
      // The walker reported why (no current/link, or one that cannot be read).
      for (std::size_t i = 0; i < problems_.all().size(); ++i) {
        const Problem& p = problems_.all()[i];
        if (p.key.starts_with(storage::layout::tag_dir(repo.name, tag.name) + "/") &&
            p.severity != Severity::Info)
          r.problems.insert(i);
      }
      if (r.problems.empty())
        r.problems.insert(problems_.find_or_add(FindingKind::TagWithoutCurrent, storage::layout::tag_dir(repo.name, tag.name),
                                                repo.name + ":" + tag.name + " has no current/link"));
      return r;
    }
    if (!repo.has_revision(*tag.current)) {
      r.problems.insert(problems_.find_or_add(FindingKind::TagCurrentMissingRevision,
                                              storage::layout::tag_current_link(repo.name, tag.name),
                                              repo.name + ":" + tag.name + " points at " + tag.current->str() +
                                                  ", which has no revision in the repository"));
      return r;
    }
    std::vector<Digest> stack;
    manifest(repo, *tag.current, storage::layout::tag_current_link(repo.name, tag.name), stack, r, true);
    return r;
  }

 private:
  // Adds to `out` what stops a pull of manifest `d` (whose revision exists in `repo`).
  void manifest(const Repository& repo, const Digest& d, const std::string& via, std::vector<Digest>& stack, Result& out,
                bool top) {
    auto reason = [&](FindingKind kind, const std::string& rel, const std::string& message, const std::string& needle = {}) {
      out.problems.insert(problems_.find_or_add(kind, rel, message, needle));
    };
    const std::string data = storage::layout::blob_data(d);
    if (!model_.blob_present(d)) {
      reason(top ? FindingKind::TagCurrentMissingBlob : FindingKind::RevisionMissingBlob, via,
             "manifest " + d.str() + " of " + repo.name + " has no blob");
      return;
    }
    if (auto c = corrupt_.find(d); c != corrupt_.end())
      reason(FindingKind::BlobDigestMismatch, data, "content hashes to " + c->second.str() + ", not " + d.str());
    const ManifestRecord* m = model_.find_manifest(d);
    if (!m || !m->readable) {
      for (FindingKind k : {FindingKind::ManifestTooLarge, FindingKind::Unreadable})
        if (has(k, data)) return reason(k, data, "");
      return reason(FindingKind::Unreadable, data, "manifest " + d.str() + " could not be read");
    }
    if (has(FindingKind::ManifestDigestMismatch, data)) reason(FindingKind::ManifestDigestMismatch, data, "");
    if (m->parsed.kind == storage::ManifestKind::Unparsable) return reason(FindingKind::ManifestUnparsable, data, "");

    auto need_blob = [&](const storage::BlobRef& b, std::string_view what) {
      if (b.foreign) return;
      if (!model_.blob_present(b.digest)) {
        reason(FindingKind::ManifestMissingReference, data,
               "manifest " + d.str() + " references " + std::string(what) + " " + b.digest.str() + ", which is missing",
               b.digest.str());
        return;
      }
      const std::string blob_data = storage::layout::blob_data(b.digest);
      if (auto c = corrupt_.find(b.digest); c != corrupt_.end())
        reason(FindingKind::BlobDigestMismatch, blob_data, "content hashes to " + c->second.str() + ", not " + b.digest.str());
      const storage::BlobRecord* rec = model_.find_blob(b.digest);
      if (b.size && rec && rec->size != b.size)
        reason(FindingKind::BlobSizeMismatch, blob_data,
               "is " + std::to_string(rec->size) + " bytes; manifest " + d.str() + " declares " + std::to_string(b.size),
               d.str());
      if (!has_layer(repo, b.digest))
        reason(FindingKind::LayerLinkMissing, storage::layout::layer_link(repo.name, b.digest),
               repo.name + " has no _layers link to " + std::string(what) + " " + b.digest.str() + " (the registry answers 404)");
    };
    if (m->parsed.config) need_blob(*m->parsed.config, "config");
    for (const auto& l : m->parsed.layers) need_blob(l, "layer");

    if (!storage::is_index(m->parsed.kind)) return;
    stack.push_back(d);
    for (const auto& child : m->parsed.children) {
      Result sub;
      if (std::find(stack.begin(), stack.end(), child.digest) != stack.end() || static_cast<int>(stack.size()) >= kMaxDepth) {
        sub.problems.insert(problems_.find_or_add(FindingKind::ManifestCycle, data,
                                                  "index " + d.str() + " contains " + child.digest.str() +
                                                      ", which contains it (or nests deeper than " + std::to_string(kMaxDepth) + ")",
                                                  child.digest.str()));
      } else if (!repo.has_revision(child.digest)) {
        sub.problems.insert(problems_.find_or_add(FindingKind::ChildRevisionMissing,
                                                  storage::layout::revision_link(repo.name, child.digest),
                                                  "index " + d.str() + " of " + repo.name + " lists " + child.digest.str() +
                                                      ", which has no revision in the repository"));
      } else {
        manifest(repo, child.digest, storage::layout::revision_link(repo.name, child.digest), stack, sub, false);
      }
      if (!sub.problems.empty()) {
        out.problems.insert(sub.problems.begin(), sub.problems.end());
        out.broken_platforms.push_back(child.platform.empty() ? child.digest.str() : child.platform);
      }
    }
    stack.pop_back();
  }

  bool has(FindingKind kind, const std::string& key) {
    return std::any_of(problems_.all().begin(), problems_.all().end(), [&](const Problem& p) { return p.kind == kind && p.key == key; });
  }

  const Model& model_;
  const FsckOptions& options_;
  ProblemSet& problems_;
  std::map<Digest, Digest> corrupt_;
};

bool is_link_file(const std::string& key) { return key.size() > 5 && key.ends_with("/link"); }

}  // namespace

FsckReport check_storage(const Model& model, const FsckOptions& options) {
  std::set<std::string> selected(options.repositories.begin(), options.repositories.end());
  for (const auto& name : selected)
    if (!model.find_repository(name))
      throw Error("no such repository: " + name, model.root + "/" + storage::layout::repo_dir(name));
  auto wanted = [&](const Repository& r) { return selected.empty() || selected.count(r.name); };

  ProblemSet problems(model);
  FsckReport report;
  report.blobs = model.blobs.size();
  report.repair.command = "fsck";
  report.repair.trash_blobs = true;  // corrupted blobs are set aside, never deleted

  // Tags: can each be pulled completely?
  PullCheck pull(model, options, problems);
  for (const Repository& repo : model.repositories) {
    if (!wanted(repo)) continue;
    ++report.repositories;
    for (const auto& tag : repo.tags) {
      PullCheck::Result r = pull.tag(repo, tag);
      TagHealth h{repo.name, tag.name, tag.current, r.problems.empty(), r.broken_platforms, {}};
      std::string name = repo.name + ":" + tag.name;
      for (std::size_t i : r.problems) {
        Problem& p = problems.all()[i];
        h.reasons.push_back(std::string(storage::to_string(p.kind)) + ": " + p.message);
        if (p.severity == Severity::Info) p.severity = Severity::Warning;  // it breaks a tag
        std::string label = name;
        if (!r.broken_platforms.empty()) {
          std::string platforms;
          for (const auto& pl : r.broken_platforms) platforms += (platforms.empty() ? "" : ", ") + pl;
          label += " (" + platforms + ")";
        }
        if (std::find(p.breaks.begin(), p.breaks.end(), label) == p.breaks.end()) p.breaks.push_back(label);
      }
      report.tags.push_back(std::move(h));
    }

    // Referrers (signatures, SBOMs) whose subject is gone: they break no pull, but refer
    // to nothing.
    for (const auto& rev : repo.revisions) {
      const ManifestRecord* m = model.find_manifest(rev.digest);
      if (m && m->parsed.subject && !repo.has_revision(*m->parsed.subject))
        problems.find_or_add(FindingKind::SubjectMissing, storage::layout::blob_data(rev.digest),
                             "referrer " + rev.digest.str() + " of " + repo.name + " refers to " + m->parsed.subject->str() +
                                 ", which is not in the repository",
                             repo.name);
    }

    // _layers links to blobs that are gone: the registry would answer 404 anyway; a GC
    // would stop at nothing, but a later push of the same layer would skip the upload.
    for (const auto& l : repo.layers)
      if (!model.blob_present(l.digest))
        problems.find_or_add(FindingKind::LayerLinkMissingBlob, storage::layout::layer_link(repo.name, l.digest),
                             repo.name + " links layer " + l.digest.str() + ", whose blob is gone");
  }

  // Blobs found corrupt by --verify that no tag reached are still problems.
  if (options.verified) {
    for (const auto& c : options.verified->corrupt)
      problems.find_or_add(FindingKind::BlobDigestMismatch, storage::layout::blob_data(c.digest),
                           "content hashes to " + c.actual.str() + ", not " + c.digest.str());
    for (const auto& u : options.verified->unreadable) problems.add(FindingKind::Unreadable, u.key, u.path, u.why, Severity::Error);
  }

  // Only the selected repositories' problems (and the blobs', when all are checked).
  std::vector<Problem> kept;
  for (Problem& p : problems.all()) {
    if (!selected.empty()) {
      // A problem in a repository's parts belongs to it; one in the folders above (a
      // namespace) to none, like a blob's.
      const bool in_parts = p.key.starts_with(storage::layout::repo_dir(p.repository) + "/_");
      const bool mine = in_parts && selected.count(p.repository);
      if (!mine && (!p.repository.empty() || p.breaks.empty())) continue;
    }
    if (p.kind == FindingKind::UnexpectedFile && p.path.ends_with(".tmp")) {
      p.kind = FindingKind::TempFile;
      p.severity = storage::default_severity(FindingKind::TempFile);
      p.message = "a leftover temporary file (an interrupted copy or write)";
    }
    // Listing, the registry ignores such an upload; fsck calls it a problem: nothing ever
    // purges it (the registry's purge reads startedat).
    if (p.kind == FindingKind::UploadWithoutStartedAt && p.severity == Severity::Info) p.severity = Severity::Warning;
    kept.push_back(std::move(p));
  }

  // The repair: only what cannot lose an intact image.
  Plan& plan = report.repair;
  const std::int64_t cutoff = options.now_ns - options.upload_max_age_ns;
  std::set<std::string> planned;
  auto plan_action = [&](Problem& p, Action a, std::string why) {
    p.repair = why;
    if (!planned.insert(a.storage_key()).second) return false;
    a.reason = std::string(storage::to_string(p.kind)) + ": " + why;
    plan.actions.push_back(std::move(a));
    return true;
  };
  namespace layout = storage::layout;
  for (Problem& p : kept) {
    const std::string& rel = p.key;
    switch (p.kind) {
      case FindingKind::LinkEmpty:
      case FindingKind::LinkMalformed:
      case FindingKind::LinkWrongAlgorithm:
        // The registry's own GC stops at the first link it cannot read; removing the file
        // makes the registry see the entry as absent, which it already is to every client.
        if (is_link_file(p.key) && !p.repository.empty())
          plan_action(p, repair_key(ActionKind::RemoveLinkFile, rel, ""), "the unreadable link file is moved to the trash");
        break;
      case FindingKind::LayerLinkMissingBlob: {
        layout::Object link = layout::object_at(std::string_view(rel).substr(0, rel.size() - 5));  // without "/link"
        if (link.kind != layout::ObjectKind::LayerLink) break;
        plan_action(p, remove_layer_link(link.repository, *link.digest, Expect::BlobMissing, ""),
                    "the dangling _layers link is moved to the trash");
        break;
      }
      case FindingKind::BlobDigestMismatch:
      case FindingKind::ManifestDigestMismatch: {
        layout::Object blob = layout::object_at(std::string_view(rel).substr(0, rel.rfind('/')));  // the blob folder
        if (blob.kind != layout::ObjectKind::Blob) break;
        plan_action(p, remove_blob(*blob.digest, "", 0, Expect::Exists),
                    "the corrupted blob is set aside in the trash (the registry then answers 404; a push heals it)");
        break;
      }
      case FindingKind::TempFile: {
        auto mtime = options.temp_file_mtimes.find(p.key);
        if (mtime != options.temp_file_mtimes.end() && mtime->second < cutoff)
          plan_action(p, repair_key(ActionKind::RemoveTempFile, rel, ""), "the leftover temporary file is moved to the trash");
        else
          p.repair = "kept: younger than the upload age (it may belong to a write in progress)";
        break;
      }
      default:
        break;
    }
  }
  // Uploads without a usable startedat, older than the upload age (by their newest file).
  for (const Repository& repo : model.repositories) {
    if (!wanted(repo)) continue;
    for (const auto& u : repo.uploads) {
      if (u.started_at_ns) continue;
      const std::string rel = storage::layout::upload_dir(repo.name, u.id);
      for (Problem& p : kept) {
        if (p.kind != FindingKind::UploadWithoutStartedAt || !p.key.starts_with(rel + "/")) continue;
        if (u.newest_mtime_ns < cutoff) {
          plan_action(p, remove_upload(repo.name, u.id, "", u.bytes), "the abandoned upload is moved to the trash");
        } else {
          p.repair = "kept: younger than the upload age";
        }
      }
    }
  }
  plan.order();

  std::sort(kept.begin(), kept.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.path, a.kind, a.message) < std::tie(b.path, b.kind, b.message);
  });
  report.problems = std::move(kept);
  return report;
}

}  // namespace regsweep::plan
