#include <algorithm>

#include "regsweep/error.h"
#include "regsweep/util/hex.h"
#include "regsweep/util/parallel.h"
#include "regsweep/util/small_path.h"
#include "regsweep/storage/layout.h"
#include "walk_internal.h"

namespace regsweep::storage::detail {

namespace {

void walk_prefix(Dir& sha256, std::string_view prefix, std::vector<BlobRecord>& out, FindingSink& sink) {
  auto dir = sha256.open_dir(prefix);
  if (!dir) {
    add_unreadable(sink, sha256.child_path(prefix), "blob prefix folder", sha256.stat(prefix).error);
    return;
  }
  dir->list([&](std::string_view name, FileType type) {
    auto digest = Digest::from_hex(name);
    if (!digest || !name.starts_with(prefix)) {
      sink.add(FindingKind::UnexpectedFile, dir->child_path(name), "not a blob folder (sha256/<2 hex>/<64 hex>/)");
      return;
    }
    if (type == FileType::Symlink) {
      // The registry would follow it and may find a blob there; regsweep reads nothing
      // through it, but counts the blob as present so that nothing that references it (a
      // manifest, a _layers link) is taken for garbage.
      add_symlink(sink, dir->child_path(name), "blob folder (its blob is counted as present, unread)");
      out.push_back(BlobRecord{*digest, 0, true, dir->stat(name).mtime_ns});
      return;
    }
    if (type != FileType::Directory) {
      sink.add(FindingKind::UnexpectedFile, Severity::Warning, dir->child_path(name),
               std::string("blob folder is ") + what_it_is(type) + ", not a folder: the registry has no such blob");
      return;
    }
    FileStat st = dir->stat(util::SmallPath(name, layout::kDataSuffix));
    BlobRecord rec{*digest, st.type == FileType::Regular ? st.size : 0, is_blob_data(st.type), st.mtime_ns};
    if (st.unreachable()) {
      // The folder cannot be entered: count the blob as present, so that nothing that
      // references it is taken for garbage.
      add_unreadable(sink, dir->child_path(name), "blob folder (its blob is counted as present, unread)", st.error);
      rec.has_data = true;
    } else if (!st.exists()) {
      sink.add(FindingKind::BlobWithoutData, dir->child_path(name), "blob folder has no data file");
    } else if (st.type == FileType::Directory) {
      // The registry answers "blob unknown" for a folder named data.
      sink.add(FindingKind::UnexpectedFile, Severity::Error, dir->child_path(util::SmallPath(name, layout::kDataSuffix)),
               "blob data is a folder, not a file: the registry has no such blob");
    } else if (st.type == FileType::Symlink) {
      // The registry follows it and serves what it finds: present, so that what references
      // it is kept; never opened.
      add_symlink(sink, dir->child_path(util::SmallPath(name, layout::kDataSuffix)), "blob data");
    } else if (st.type != FileType::Regular) {
      // A FIFO/device (the registry stats it as a blob): present, so that what references
      // it is kept; never opened.
      sink.add(FindingKind::UnexpectedFile, Severity::Error, dir->child_path(util::SmallPath(name, layout::kDataSuffix)),
               std::string("blob data is ") + what_it_is(st.type) + ", not a regular file");
    }
    out.push_back(rec);
  });
}

}  // namespace

std::vector<BlobRecord> walk_blobs(Dir& v2, std::vector<FindingSink>& sinks, util::Progress& progress) {
  auto blobs = v2.open_dir(layout::kBlobsFolder);
  if (!blobs) {  // absent: a registry that never stored a blob
    FileStat st = v2.stat(layout::kBlobsFolder);
    if (st.exists() || st.unreachable()) add_unreadable(sinks[0], v2.child_path(layout::kBlobsFolder), "blobs/ (no blob can be seen)", st.error);
    return {};
  }
  std::vector<std::string> prefixes;
  std::unique_ptr<Dir> sha256;
  blobs->list([&](std::string_view name, FileType type) {
    if (name == layout::kAlgorithm && type == FileType::Directory) return;
    if (name == layout::kAlgorithm) throw_not_a_folder(blobs->child_path(name), type);
    sinks[0].add(FindingKind::UnexpectedFile, blobs->child_path(name), "only blobs/sha256/ is expected here");
  });
  sha256 = blobs->open_dir(layout::kAlgorithm);
  if (!sha256) {
    FileStat st = blobs->stat("sha256");
    if (st.exists() || st.unreachable())
      add_unreadable(sinks[0], blobs->child_path("sha256"), "blobs/sha256/ (no blob can be seen)", st.error);
    return {};
  }
  sha256->list([&](std::string_view name, FileType type) {
    bool is_prefix = name.size() == 2 && util::is_lower_hex(name);
    if (is_prefix && type == FileType::Directory)
      prefixes.emplace_back(name);
    else if (is_prefix && type == FileType::Symlink)  // its blobs are invisible: every one of them looks missing
      add_symlink(sinks[0], sha256->child_path(name), "blob prefix folder");
    else if (is_prefix)
      sinks[0].add(FindingKind::UnexpectedFile, Severity::Warning, sha256->child_path(name),
                   std::string("blob prefix folder is ") + what_it_is(type) + ", not a folder");
    else
      sinks[0].add(FindingKind::UnexpectedFile, sha256->child_path(name), "not a blob prefix folder (2 hex)");
  });
  std::vector<std::vector<BlobRecord>> per_worker(sinks.size());
  util::parallel_for(prefixes.size(), static_cast<unsigned>(sinks.size()), [&](unsigned w, std::size_t i) {
    std::size_t before = per_worker[w].size();
    walk_prefix(*sha256, prefixes[i], per_worker[w], sinks[w]);
    progress.advance(per_worker[w].size() - before);
  });
  std::vector<BlobRecord> all;
  std::size_t total = 0;
  for (auto& v : per_worker) total += v.size();
  all.reserve(total);
  for (auto& v : per_worker) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end(), [](const BlobRecord& a, const BlobRecord& b) { return a.digest < b.digest; });
  return all;
}

}  // namespace regsweep::storage::detail
