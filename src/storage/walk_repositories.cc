#include <algorithm>
#include <cstring>

#include "regsweep/storage/layout.h"
#include "regsweep/storage/link.h"
#include "regsweep/util/format.h"
#include "regsweep/util/names.h"
#include "regsweep/util/small_path.h"
#include "walk_internal.h"

namespace regsweep::storage::detail {

namespace {

constexpr std::size_t kMaxLinkRead = 4096;  // a link is 71 bytes; more is garbage, read enough to say so
constexpr int kMaxNameDepth = 128;          // a 255-character name has at most 128 components

bool is_repo_marker(std::string_view name) { return name == layout::kManifests || name == layout::kLayers || name == layout::kUploads; }

// The entries of a folder of repositories/: whether it is a repository (it has _manifests,
// _layers or _uploads), and its folders; anything else is a finding.
bool classify(Dir& dir, const std::string& name, std::vector<std::string>& children, FindingSink& sink) {
  bool is_repo = false;
  dir.list([&](std::string_view entry, FileType type) {
    if (type == FileType::Symlink) {
      // The registry would follow it (and list what it finds, wherever it points); regsweep
      // reads nothing through it, so whatever is there is unknown to it.
      add_symlink(sink, dir.child_path(entry), "this entry of repositories/ (a repository, or a folder of them)");
    } else if (entry.starts_with('_')) {
      if (is_repo_marker(entry) && type == FileType::Directory && !name.empty()) {
        is_repo = true;
      } else if (is_repo_marker(entry) && !name.empty()) {
        sink.add(FindingKind::UnexpectedFile, Severity::Error, dir.child_path(entry),
                 std::string(entry) + " is " + what_it_is(type) + ", not a folder: this repository cannot be read");
      } else {
        sink.add(FindingKind::UnexpectedFile, dir.child_path(entry), "not a folder the registry writes here");
      }
    } else if (type == FileType::Directory) {
      children.emplace_back(entry);
    } else {
      sink.add(FindingKind::UnexpectedFile, Severity::Warning, dir.child_path(entry),
               std::string("not a folder (repository names are folders): ") + what_it_is(type));
    }
  });
  std::sort(children.begin(), children.end());
  return is_repo;
}

void discover(Dir& dir, std::string& name, int depth, std::vector<std::string>& out, FindingSink& sink);

// The folder `child` of `dir` and what is below it.
void discover_child(Dir& dir, const std::string& child, std::string& name, int depth, std::vector<std::string>& out,
                    FindingSink& sink) {
  auto sub = dir.open_dir(child);
  if (!sub) {
    add_unreadable(sink, dir.child_path(child), "folder (the repositories in it are unknown)", dir.stat(child).error);
    return;
  }
  std::size_t keep = name.size();
  if (!name.empty()) name += '/';
  name += child;
  discover(*sub, name, depth + 1, out, sink);
  name.resize(keep);
}

void discover(Dir& dir, std::string& name, int depth, std::vector<std::string>& out, FindingSink& sink) {
  std::vector<std::string> children;
  if (classify(dir, name, children, sink)) {
    if (!util::is_valid_repository_name(name))
      sink.add(FindingKind::InvalidName, dir.path(), "repository name \"" + name + "\" is outside the registry's grammar");
    out.push_back(name);
  }
  if (depth >= kMaxNameDepth) {
    if (!children.empty()) sink.add(FindingKind::UnexpectedFile, dir.path(), "folders nested too deep for a repository name");
    return;
  }
  for (const std::string& child : children) discover_child(dir, child, name, depth, out, sink);
}

// Reads a link file; on success returns its digest, else reports why at its path.
std::optional<Digest> read_link(Dir& dir, std::string_view rel, std::string& buf, FindingSink& sink,
                                FileStat* stat_out = nullptr) {
  ReadResult r = dir.read_file(rel, kMaxLinkRead, buf);
  if (stat_out) *stat_out = r.stat;
  if (r.status == ReadStatus::Missing) return std::nullopt;
  if (r.status == ReadStatus::TooLarge) {
    sink.add(FindingKind::LinkMalformed, dir.child_path(rel), "link file far too large (" + std::to_string(r.stat.size) + " bytes)");
    return std::nullopt;
  }
  if (r.status == ReadStatus::NotRegular && r.stat.type == FileType::Symlink) {
    add_symlink(sink, dir.child_path(rel), "link");  // never followed: it could point anywhere
    return std::nullopt;
  }
  if (r.status == ReadStatus::NotRegular) {
    // Never opened (a FIFO would block).
    sink.add(FindingKind::UnexpectedFile, Severity::Error, dir.child_path(rel),
             std::string("link is ") + what_it_is(r.stat.type) + ", not a file");
    return std::nullopt;
  }
  if (!r.ok()) {
    sink.add(FindingKind::Unreadable, dir.child_path(rel),
             std::string("link cannot be read") + (r.error ? std::string(": ") + std::strerror(r.error) : std::string()));
    return std::nullopt;
  }
  LinkParse p = parse_link(buf);
  if (!p.ok()) {
    std::string shown = buf.substr(0, 80);
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    sink.add(p.problem, dir.child_path(rel), "link content is not sha256:<64 hex>: \"" + shown + "\"");
  }
  return p.digest;
}

// The folder `rel` below `parent` (a path of folders), or nullptr: quietly when it is absent,
// with an error finding when one of its components is something else (a file, a symlink...),
// since then what the registry keeps there cannot be read. Opened one component at a time,
// so that no implementation of the seam can follow a symlink on the way.
std::unique_ptr<Dir> open_folder(Dir& parent, std::string_view rel, FindingSink& sink) {
  std::unique_ptr<Dir> cur;
  while (!rel.empty()) {
    auto slash = rel.find('/');
    std::string_view part = rel.substr(0, slash);
    Dir& from = cur ? *cur : parent;
    auto next = from.open_dir(part);
    if (!next) {
      FileStat st = from.stat(part);
      if (st.type == FileType::Symlink)
        add_symlink(sink, from.child_path(part), std::string(part) + "/");
      else if (st.exists() && st.type != FileType::Directory)
        sink.add(FindingKind::UnexpectedFile, Severity::Error, from.child_path(part),
                 std::string(part) + " is " + what_it_is(st.type) + ", not a folder: what the registry keeps in it cannot be read");
      else if (st.exists() || st.unreachable())
        add_unreadable(sink, from.child_path(part), "folder", st.error);
      return nullptr;
    }
    cur = std::move(next);
    rel = slash == std::string_view::npos ? std::string_view() : rel.substr(slash + 1);
  }
  return cur;
}

// Lists <parent>/<rel>/ expecting 64-hex folders; calls fn(folder, hex entry, digest) for each.
template <typename Fn>
void each_digest_folder(Dir& parent, std::string_view rel, FindingSink& sink, Fn&& fn) {
  auto dir = open_folder(parent, rel, sink);
  if (!dir) return;
  dir->list([&](std::string_view name, FileType type) {
    auto d = Digest::from_hex(name);
    if (d && type == FileType::Symlink) {
      add_symlink(sink, dir->child_path(name), "this digest folder");
      return;
    }
    if (!d || type != FileType::Directory) {
      sink.add(FindingKind::UnexpectedFile, dir->child_path(name), "expected a folder named by a sha256 hex digest");
      return;
    }
    fn(*dir, name, *d);
  });
}

void walk_revisions(Dir& manifests, FindingSink& sink, Repository& repo, std::string& buf) {
  each_digest_folder(manifests, layout::kRevisions, sink, [&](Dir& dir, std::string_view hex, const Digest& d) {
    FileStat st;
    auto linked = read_link(dir, util::SmallPath(hex, layout::kLinkSuffix), buf, sink, &st);
    if (!linked && st.exists()) repo.unreadable_revisions.push_back(d);
    if (!linked) return;  // an empty folder is what an API delete leaves behind
    if (*linked != d)
      sink.add(FindingKind::LinkMismatch, dir.child_path(util::SmallPath(hex, layout::kLinkSuffix)),
               "revision link names " + linked->str() + " inside the folder of sha256:" + std::string(hex));
    repo.revisions.push_back(RevisionLink{*linked, *linked != d});
  });
}

void walk_tags(Dir& manifests, FindingSink& sink, Repository& repo, std::string& buf) {
  auto tags = open_folder(manifests, layout::kTags, sink);
  if (!tags) {
    FileStat st = manifests.stat(layout::kTags);
    repo.tags_incomplete = st.exists() || st.unreachable();
    return;
  }
  tags->list([&](std::string_view name, FileType type) {
    if (type != FileType::Directory) {
      // A symlink: the registry would follow it and serve whatever tag it finds there.
      if (type == FileType::Symlink) {
        repo.tags_incomplete = true;
        add_symlink(sink, tags->child_path(name), "tag " + std::string(name));
      } else {
        sink.add(FindingKind::UnexpectedFile, Severity::Warning, tags->child_path(name), std::string("not a tag folder: ") + what_it_is(type));
      }
      return;
    }
    TagLink tag;
    tag.name = std::string(name);
    if (!util::is_valid_tag(name))
      sink.add(FindingKind::InvalidName, tags->child_path(name), "tag \"" + tag.name + "\" is outside the registry's grammar");
    auto dir = tags->open_dir(name);
    if (!dir) {
      repo.tags_incomplete = true;
      add_unreadable(sink, tags->child_path(name), "tag folder", tags->stat(name).error);
      return;
    }
    FileStat st;
    FileStat current = dir->stat(layout::kCurrent);
    if (current.type == FileType::Symlink) {
      repo.tags_incomplete = true;
      add_symlink(sink, dir->child_path(layout::kCurrent), "the tag's current/");
    } else if (current.unreachable()) {
      repo.tags_incomplete = true;
      add_unreadable(sink, dir->child_path(layout::kCurrent), "the tag's current/", current.error);
    } else if (current.exists() && current.type != FileType::Directory) {
      // Reading current/link through it would follow a symlink (or fail on a file): say
      // what it is, at its own path.
      repo.tags_incomplete = true;
      sink.add(FindingKind::UnexpectedFile, Severity::Error, dir->child_path(layout::kCurrent),
               "current is " + std::string(what_it_is(current.type)) + ", not a folder: the tag's link cannot be read");
    } else {
      tag.current = read_link(*dir, layout::kCurrentLink, buf, sink, &st);
      tag.pushed_ns = st.mtime_ns;
      if (!tag.current && st.exists()) repo.tags_incomplete = true;
      if (!st.exists()) sink.add(FindingKind::TagWithoutCurrent, dir->child_path(layout::kCurrentLink), "tag has no current link");
    }
    each_digest_folder(*dir, layout::kTagIndex, sink, [&](Dir&, std::string_view, const Digest& d) { tag.history.push_back(d); });
    std::sort(tag.history.begin(), tag.history.end());
    tag.history.shrink_to_fit();
    repo.tags.push_back(std::move(tag));
  });
}

void walk_layers(Dir& repo_dir, FindingSink& sink, Repository& repo) {
  // Layer links are only stat'ed: a valid one is exactly 71 bytes, which catches empty and
  // garbage links without reading them; `fsck` reads every one.
  if (!repo.has_layers_dir) return;  // absent, or not a folder (reported by discover())
  each_digest_folder(repo_dir, layout::kLayerLinks, sink, [&](Dir& dir, std::string_view hex, const Digest& d) {
    util::SmallPath rel(hex, layout::kLinkSuffix);
    FileStat st = dir.stat(rel);
    if (st.unreachable()) {
      add_unreadable(sink, dir.child_path(hex), "layer link folder", st.error);
      return;
    }
    if (!st.exists()) return;
    if (st.type != FileType::Regular) {
      sink.add(FindingKind::UnexpectedFile, Severity::Error, dir.child_path(rel),
               std::string("layer link is ") + what_it_is(st.type) + ", not a file");
    } else if (st.size == 0) {
      sink.add(FindingKind::LinkEmpty, dir.child_path(rel), "layer link is empty");
    } else if (st.size != kLinkFileSize) {
      sink.add(FindingKind::LinkMalformed, dir.child_path(rel), "layer link is " + std::to_string(st.size) + " bytes, not 71");
    } else {
      repo.layers.push_back(LayerLink{d});
    }
  });
}

void walk_uploads(Dir& repo_dir, FindingSink& sink, Repository& repo, std::string& buf) {
  if (!repo.has_uploads_dir) return;
  auto uploads = repo_dir.open_dir(layout::kUploads);
  if (!uploads) {
    add_unreadable(sink, repo_dir.child_path(layout::kUploads), "_uploads/", repo_dir.stat(layout::kUploads).error);
    return;
  }
  uploads->list([&](std::string_view id, FileType type) {
    if (type == FileType::Symlink) {
      add_symlink(sink, uploads->child_path(id), "upload folder");
      return;
    }
    if (type != FileType::Directory) {
      sink.add(FindingKind::UnexpectedFile, Severity::Info, uploads->child_path(id), std::string("not an upload folder: ") + what_it_is(type));
      return;
    }
    Upload up;
    up.id = std::string(id);
    ReadResult r = uploads->read_file(util::SmallPath(id, layout::kStartedAtSuffix), 256, buf);
    if (r.ok()) up.started_at_ns = util::parse_rfc3339(buf);
    if (!up.started_at_ns) {
      // Garbage in startedat is damage (the registry's purge cannot age it: it stays
      // forever); a missing one may be an upload being created.
      std::string shown = r.ok() ? buf.substr(0, 40) : std::string();
      for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      sink.add(FindingKind::UploadWithoutStartedAt, r.ok() ? Severity::Warning : Severity::Info,
               uploads->child_path(util::SmallPath(id, layout::kStartedAtSuffix)),
               r.ok() ? "startedat is not an RFC 3339 time: \"" + shown + "\""
                      : r.status == ReadStatus::Missing ? std::string("upload has no startedat")
                                                        : std::string("startedat is ") + what_it_is(r.stat.type) + ", not a file");
    }
    // Age of an upload without startedat: its newest file, or the folder itself.
    up.newest_mtime_ns = std::max(r.stat.mtime_ns, uploads->stat(id).mtime_ns);
    FileStat data = uploads->stat(util::SmallPath(id, layout::kDataSuffix));
    if (data.type == FileType::Regular) up.bytes = data.size;
    up.newest_mtime_ns = std::max(up.newest_mtime_ns, data.mtime_ns);
    repo.uploads.push_back(std::move(up));
  });
}

}  // namespace

std::vector<std::string> discover_repositories(Dir& repositories, FindingSink& sink) {
  std::vector<std::string> names;
  std::string name;
  discover(repositories, name, 0, names, sink);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> repository_folders(Dir& repositories, FindingSink& sink) {
  std::vector<std::string> folders;
  classify(repositories, std::string(), folders, sink);
  return folders;
}

std::vector<std::string> discover_repositories_in(Dir& repositories, const std::string& folder, FindingSink& sink) {
  std::vector<std::string> names;
  std::string name;
  discover_child(repositories, folder, name, 0, names, sink);
  std::sort(names.begin(), names.end());
  return names;
}

Repository walk_repository(Dir& repositories, const std::string& name, FindingSink& sink) {
  Repository repo;
  repo.name = name;
  auto dir = repositories.open_dir(name);
  if (!dir) {
    add_unreadable(sink, repositories.child_path(name), "repository folder", repositories.stat(name).error);
    repo.tags_incomplete = true;
    return repo;
  }
  std::string buf;
  // Which of _manifests, _layers, _uploads are folders: from the listing (names and types),
  // which works even where the folder cannot be entered and a stat inside it would fail.
  dir->list([&](std::string_view entry, FileType type) {
    if (type != FileType::Directory) return;
    if (entry == layout::kManifests) repo.has_manifests_dir = true;
    else if (entry == layout::kLayers) repo.has_layers_dir = true;
    else if (entry == layout::kUploads) repo.has_uploads_dir = true;
  });
  auto manifests = repo.has_manifests_dir ? dir->open_dir(layout::kManifests) : nullptr;
  if (repo.has_manifests_dir && !manifests) {
    repo.tags_incomplete = true;
    add_unreadable(sink, dir->child_path(layout::kManifests), "_manifests/ (tags and revisions unknown)", dir->stat(layout::kManifests).error);
  }
  if (manifests) {
    manifests->list([&](std::string_view entry, FileType type) {
      if ((entry == "revisions" || entry == "tags") && type == FileType::Directory) return;
      if (entry == "revisions" || entry == "tags") return;  // reported by open_folder() below, with what it is
      sink.add(FindingKind::UnexpectedFile, manifests->child_path(entry), "only revisions/ and tags/ are expected here");
    });
    walk_revisions(*manifests, sink, repo, buf);
    walk_tags(*manifests, sink, repo, buf);
  }
  walk_layers(*dir, sink, repo);
  walk_uploads(*dir, sink, repo, buf);
  auto by_digest = [](const auto& a, const auto& b) { return a.digest < b.digest; };
  // A mismatched link names a digest; when that digest has its own revision folder too,
  // the pair is one revision (the registry enumerates it once per link, to the same effect).
  std::sort(repo.revisions.begin(), repo.revisions.end(),
            [](const RevisionLink& a, const RevisionLink& b) { return std::tie(a.digest, a.mismatched) < std::tie(b.digest, b.mismatched); });
  repo.revisions.erase(std::unique(repo.revisions.begin(), repo.revisions.end(),
                                   [](const RevisionLink& a, const RevisionLink& b) { return a.digest == b.digest; }),
                       repo.revisions.end());
  std::sort(repo.layers.begin(), repo.layers.end(), by_digest);
  std::sort(repo.unreadable_revisions.begin(), repo.unreadable_revisions.end());
  std::sort(repo.tags.begin(), repo.tags.end(), [](const TagLink& a, const TagLink& b) { return a.name < b.name; });
  std::sort(repo.uploads.begin(), repo.uploads.end(), [](const Upload& a, const Upload& b) { return a.id < b.id; });
  // The model keeps these for the whole run: no room left from growing them.
  repo.tags.shrink_to_fit();
  repo.revisions.shrink_to_fit();
  repo.unreadable_revisions.shrink_to_fit();
  repo.layers.shrink_to_fit();
  repo.uploads.shrink_to_fit();
  return repo;
}

}  // namespace regsweep::storage::detail
