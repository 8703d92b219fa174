#include "regsweep/storage/walker.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/parallel.h"
#include "regsweep/util/sha256.h"
#include "regsweep/util/small_path.h"
#include "listed_dir.h"
#include "walk_internal.h"

namespace regsweep::storage {

namespace {

// Manifests over the registry's limit are still read for marking, up to this.
constexpr std::size_t kMaxMarkedManifestBytes = 64u << 20;

ManifestRecord read_manifest(Dir& v2, const Model& model, const Digest& d, FindingSink& sink) {
  ManifestRecord rec;
  rec.digest = d;
  const BlobRecord* blob = model.find_blob(d);
  if (!blob || !blob->has_data) return rec;  // reported by the consistency pass
  rec.size = blob->size;
  const std::string hex = d.hex();
  util::SmallPath rel(layout::kBlobs, "/", std::string_view(hex).substr(0, 2), "/", hex, layout::kDataSuffix);
  std::string bytes;
  ReadResult r = v2.read_file(rel, kMaxManifestBytes, bytes);
  if (r.status == ReadStatus::TooLarge) {
    sink.add(FindingKind::ManifestTooLarge, v2.child_path(rel),
             "manifest blob is " + std::to_string(r.stat.size) + " bytes, over the registry's 4 MiB limit");
    // The registry refuses to accept or serve such a manifest, and its garbage-collect stops
    // at one ("read exceeds limit") rather than guess. Read it anyway (up to a bound on
    // memory), so that what it references is known and never taken for garbage.
    r = v2.read_file(rel, kMaxMarkedManifestBytes, bytes);
    if (r.status == ReadStatus::TooLarge) return rec;
  }
  // A FIFO or device: damage, not a blind spot (the registry cannot serve it either), already
  // reported by the blob walk. Kept opaque (what the repositories that link it link stays).
  if (r.status == ReadStatus::NotRegular && r.stat.type != FileType::Symlink) return rec;
  if (!r.ok()) {
    std::string why = "cannot read manifest blob";
    if (r.status == ReadStatus::NotRegular)
      why += ": it is a symbolic link (not followed)";
    else if (r.error)
      why += std::string(": ") + std::strerror(r.error);
    sink.add(FindingKind::Unreadable, v2.child_path(rel), why);
    return rec;
  }
  rec.readable = true;
  rec.parsed = parse_manifest(bytes);
  if (util::sha256(bytes) != d)
    sink.add(FindingKind::ManifestDigestMismatch, v2.child_path(rel), "manifest content does not hash to " + d.str());
  if (rec.parsed.kind == ManifestKind::Unparsable)
    sink.add(FindingKind::ManifestUnparsable, v2.child_path(rel), "manifest " + d.str() + " is unparsable: " + rec.parsed.error);
  else if (rec.parsed.kind == ManifestKind::Unknown)
    sink.add(FindingKind::ManifestUnknownType, v2.child_path(rel),
             "manifest " + d.str() + " has unknown media type \"" + rec.parsed.media_type + "\"; kept as opaque");
  return rec;
}

// Reads every manifest a revision (readable or not) or tag names, then the children of indexes among them,
// until no new digest appears. Each blob is read once, in parallel.
void read_manifests(Dir& v2, Model& model, std::vector<FindingSink>& sinks, util::Progress& progress) {
  std::vector<Digest> wanted;
  for (const Repository& repo : model.repositories) {
    for (const RevisionLink& r : repo.revisions) wanted.push_back(r.digest);
    wanted.insert(wanted.end(), repo.unreadable_revisions.begin(), repo.unreadable_revisions.end());
    for (const TagLink& t : repo.tags)
      if (t.current) wanted.push_back(*t.current);
  }
  while (!wanted.empty()) {
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    std::vector<ManifestRecord> round(wanted.size());
    progress.expect(wanted.size());
    util::parallel_for(wanted.size(), static_cast<unsigned>(sinks.size()), [&](unsigned w, std::size_t i) {
      round[i] = read_manifest(v2, model, wanted[i], sinks[w]);
      progress.advance(1, round[i].size);
    });
    std::vector<Digest> next;
    for (const ManifestRecord& m : round)
      for (const ChildRef& c : m.parsed.children)
        if (!model.find_manifest(c.digest) && !std::binary_search(wanted.begin(), wanted.end(), c.digest))
          next.push_back(c.digest);
    // Merged into the model's sorted list from the back, without a third list (the first
    // round, every manifest a revision or tag names, is the list).
    if (model.manifests.empty()) {
      model.manifests = std::move(round);
    } else {
      std::size_t old = model.manifests.size(), add = round.size();
      model.manifests.reserve(old + add);
      model.manifests.resize(old + add);
      for (std::size_t to = old + add; add > 0;) {
        if (old > 0 && round[add - 1].digest < model.manifests[old - 1].digest)
          model.manifests[--to] = std::move(model.manifests[--old]);
        else
          model.manifests[--to] = std::move(round[--add]);
      }
    }
    wanted = std::move(next);
  }
}

void check_consistency(const std::string& root, const Model& model, FindingSink& sink) {
  auto at = [&](const std::string& rel) { return root + "/" + rel; };
  for (const Repository& repo : model.repositories) {
    for (const TagLink& tag : repo.tags) {
      if (!tag.current) continue;
      if (!repo.has_revision(*tag.current))
        sink.add(FindingKind::TagCurrentMissingRevision, at(layout::tag_current_link(repo.name, tag.name)),
                 repo.name + ":" + tag.name + " points at " + tag.current->str() + ", which has no revision in the repository");
      else if (!model.blob_present(*tag.current))
        sink.add(FindingKind::TagCurrentMissingBlob, at(layout::tag_current_link(repo.name, tag.name)),
                 repo.name + ":" + tag.name + " points at " + tag.current->str() + ", whose manifest blob is missing");
    }
    for (const RevisionLink& rev : repo.revisions)
      if (!model.blob_present(rev.digest))
        sink.add(FindingKind::RevisionMissingBlob, at(layout::revision_link(repo.name, rev.digest)),
                 "revision " + rev.digest.str() + " of " + repo.name + " has no manifest blob");
  }
  for (const ManifestRecord& m : model.manifests) {
    if (!m.readable) continue;
    auto missing = [&](const Digest& d, std::string_view what) {
      if (!model.blob_present(d))
        sink.add(FindingKind::ManifestMissingReference, at(layout::blob_data(m.digest)),
                 "manifest " + m.digest.str() + " references " + std::string(what) + " " + d.str() + ", which is missing");
    };
    if (m.parsed.config) missing(m.parsed.config->digest, "config");
    for (const BlobRef& l : m.parsed.layers)
      if (!l.foreign) missing(l.digest, "layer");
    for (const ChildRef& c : m.parsed.children) missing(c.digest, "child manifest");
  }
}

}  // namespace

namespace detail {

const char* what_it_is(FileType type) {
  switch (type) {
    case FileType::Symlink: return "a symbolic link (not followed)";
    case FileType::Directory: return "a folder";
    case FileType::Regular: return "a regular file";
    case FileType::Other: return "a FIFO, socket or device (not opened)";
    case FileType::Missing: break;
  }
  return "missing";
}

void add_symlink(FindingSink& sink, std::string path, std::string_view what) {
  sink.add(FindingKind::Symlink, std::move(path),
           std::string(what) + " is a symbolic link: the registry follows it, regsweep reads nothing through it");
}

void add_unreadable(FindingSink& sink, std::string path, std::string_view what, int errno_value) {
  std::string why = "cannot open " + std::string(what);
  if (errno_value) why += std::string(": ") + std::strerror(errno_value);
  sink.add(FindingKind::Unreadable, std::move(path), std::move(why));
}

void throw_not_a_folder(const std::string& path, FileType type) {
  throw Error(std::string("cannot walk the storage: this is ") + what_it_is(type) + ", not a folder", path,
              type == FileType::Symlink
                  ? "regsweep follows no symbolic link below --root (the root itself may be one); "
                    "give --root the real rootdirectory, or bind-mount the folder instead of linking it"
                  : "the registry keeps a folder here; restore it before cleaning this storage");
}

}  // namespace detail

namespace {

// The walk knows where the layout puts each file and probes for it: in the local folder, or
// in a listing of every key made first where the store has no folders (S3).
struct ProbingRoot {
  std::unique_ptr<Dir> listing;
  Dir* dir = nullptr;
};
ProbingRoot probing_root(Store& store, unsigned jobs, util::Progress& progress, bool with_blobs = true) {
  ProbingRoot root;
  root.dir = store.directory();
  if (!root.dir) {
    root.listing = detail::list_store(store, jobs, progress, with_blobs);
    root.dir = root.listing.get();
  }
  return root;
}

// Every repository, sorted by name. Each folder of repositories/ is taken by one worker,
// which finds the repositories in it and queues them; workers take a queued repository
// before a new folder. A folder stays open until its last repository is walked: on a bucket
// that is how long its listing lives (listed_dir.h), so only the folders being walked are in
// memory, and a folder of thousands of repositories is still walked by every worker.
std::vector<Repository> walk_repositories(Dir& repositories, std::vector<FindingSink>& sinks, util::Progress& progress) {
  const std::vector<std::string> folders = detail::repository_folders(repositories, sinks[0]);
  struct Queued {
    std::string name;
    std::shared_ptr<Dir> folder;  // held open until its repositories are walked
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Queued> queued;
  std::size_t next_folder = 0, busy = 0, found = 0;
  bool failed = false;
  std::vector<std::vector<Repository>> walked(sinks.size());
  util::parallel_for(sinks.size(), static_cast<unsigned>(sinks.size()), [&](unsigned w, std::size_t) {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [&] { return failed || !queued.empty() || next_folder < folders.size() || busy == 0; });
      if (failed || (queued.empty() && next_folder == folders.size())) break;  // busy == 0: nothing more will come
      ++busy;
      try {
        if (!queued.empty()) {
          Queued next = std::move(queued.front());
          queued.pop_front();
          lock.unlock();
          walked[w].push_back(detail::walk_repository(repositories, next.name, sinks[w]));
          next.folder.reset();
          progress.advance(1);
          lock.lock();
        } else {
          const std::string& folder = folders[next_folder++];
          lock.unlock();
          std::shared_ptr<Dir> held = repositories.open_dir(folder);
          std::vector<std::string> names = detail::discover_repositories_in(repositories, folder, sinks[w]);
          lock.lock();
          found += names.size();
          progress.expect(found);
          for (std::string& name : names) queued.push_back(Queued{std::move(name), held});
        }
      } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        failed = true;
        --busy;
        changed.notify_all();
        throw;
      }
      --busy;
      changed.notify_all();
    }
  });
  std::vector<Repository> out;
  for (auto& part : walked)
    for (Repository& r : part) out.push_back(std::move(r));
  std::sort(out.begin(), out.end(), [](const Repository& a, const Repository& b) { return a.name < b.name; });
  return out;
}

}  // namespace

std::vector<std::string> repository_names(Store& store) {
  ProbingRoot root = probing_root(store, store.traits().connections, util::no_progress(), /*with_blobs=*/false);
  auto repositories = root.dir->open_dir(layout::v2(layout::kRepositories));
  if (!repositories) return {};
  FindingSink ignored;
  return detail::discover_repositories(*repositories, ignored);
}

bool unchanged_since(Store& store, const Model& model, const WalkOptions& options) {
  if (!model.listing_fingerprint || store.directory()) return false;
  return detail::fingerprint_store(store, std::max(options.jobs, store.traits().connections), *options.progress) ==
         *model.listing_fingerprint;
}

std::vector<std::string> tag_names(Store& store, const std::string& repository) {
  std::vector<std::string> out;
  store.list_children(layout::tags_dir(repository), [&](std::string_view name, FileType type) {
    if (type == FileType::Directory) out.emplace_back(name);
  });
  std::sort(out.begin(), out.end());
  return out;
}

Model walk_storage(Store& store, const WalkOptions& options) {
  ProbingRoot probing = probing_root(store, std::max(options.jobs, store.traits().connections), *options.progress);
  Dir* root_dir = probing.dir;
  const std::string& root = store.location();
  auto v2 = root_dir->open_dir(layout::kV2);
  if (!v2) {
    // Say which of docker/, registry/, v2/ is missing or not a folder (a symlink is not
    // followed below the root).
    std::string rel;
    for (std::string_view part : {"docker", "registry", "v2"}) {
      rel += part;
      FileStat st = root_dir->stat(rel);
      if (!st.exists()) break;
      if (st.type != FileType::Directory) detail::throw_not_a_folder(root_dir->child_path(rel), st.type);
      rel += '/';
    }
    throw Error("not a registry storage root: no docker/registry/v2 inside", root,
                "--root takes the filesystem driver's rootdirectory, the folder that holds docker/");
  }
  Model model;
  model.root = root_dir->path();
  std::vector<FindingSink> sinks(std::max(1u, options.jobs));

  v2->list([&](std::string_view name, FileType type) {
    if ((name == "blobs" || name == "repositories") && type == FileType::Directory) return;
    if (name == "blobs" || name == "repositories") detail::throw_not_a_folder(v2->child_path(name), type);
    sinks[0].add(FindingKind::UnexpectedFile, v2->child_path(name), "only blobs/ and repositories/ are expected here");
  });
  util::Progress& progress = *options.progress;
  progress.phase("walking blobs");
  model.blobs = detail::walk_blobs(*v2, sinks, progress);

  auto repositories = v2->open_dir(layout::kRepositories);
  if (!repositories) {
    // Absent: a registry that never stored a repository. Present but not openable: every
    // repository is unknown, which is never "no repositories".
    FileStat st = v2->stat(layout::kRepositories);
    if (st.exists() || st.unreachable())
      detail::add_unreadable(sinks[0], v2->child_path(layout::kRepositories), "repositories/ (no repository can be read)",
                             st.error);
  }
  if (repositories) {
    progress.phase("walking repositories");
    model.repositories = walk_repositories(*repositories, sinks, progress);
  }
  progress.phase("reading manifests");
  read_manifests(*v2, model, sinks, progress);
  progress.done();
  check_consistency(model.root, model, sinks[0]);
  if (probing.listing) model.listing_fingerprint = detail::listing_fingerprint(*probing.listing);

  // The walk names every place by its path below the root; findings carry the key too.
  const std::string below_root = model.root + "/";
  for (FindingSink& s : sinks)
    for (Finding& f : s.findings()) {
      if (f.path.starts_with(below_root)) {
        f.key = f.path.substr(below_root.size());
        f.repository = layout::repository_of(f.key);
        f.digest = layout::digest_at(f.key);
      }
      model.findings.push_back(std::move(f));
    }
  std::sort(model.findings.begin(), model.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.path, a.kind, a.message) < std::tie(b.path, b.kind, b.message);
  });
#ifdef __GLIBC__
  // What the walk used and freed (manifest documents, read buffers, per-worker lists, the
  // listing of a bucket) goes back to the system: the model stays for the whole command,
  // and the free pages the walk's threads left between its records would stay resident.
  ::malloc_trim(0);
#endif
  return model;
}

}  // namespace regsweep::storage
